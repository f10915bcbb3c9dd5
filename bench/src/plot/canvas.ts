import { GLYPH_ADVANCE, GLYPH_HEIGHT, glyph } from "./font.js";
import { encodePng } from "./png.js";

/** An RGB colour, 0..255 each. */
export type Rgb = readonly [number, number, number];

/** A white RGB raster with the few drawing operations a line chart needs. */
export class Canvas {
  readonly pixels: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.pixels = new Uint8Array(width * height * 3).fill(255);
  }

  /** Sets one pixel; outside the canvas does nothing. */
  set(x: number, y: number, color: Rgb): void {
    const px = Math.round(x);
    const py = Math.round(y);
    if (px < 0 || py < 0 || px >= this.width || py >= this.height) return;
    const i = (py * this.width + px) * 3;
    this.pixels[i] = color[0];
    this.pixels[i + 1] = color[1];
    this.pixels[i + 2] = color[2];
  }

  /** Fills the rectangle [x, x+w) × [y, y+h). */
  rect(x: number, y: number, w: number, h: number, color: Rgb): void {
    for (let j = 0; j < h; j += 1) for (let i = 0; i < w; i += 1) this.set(x + i, y + j, color);
  }

  /** A straight line `thickness` pixels wide; `dash` > 0 draws dashes of that many pixels. */
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb, thickness = 1, dash = 0): void {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    const offset = Math.floor((thickness - 1) / 2);
    for (let s = 0; s <= steps; s += 1) {
      if (dash > 0 && Math.floor(s / dash) % 2 === 1) continue;
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      this.rect(Math.round(x) - offset, Math.round(y) - offset, thickness, thickness, color);
    }
  }

  /** Draws `text` with its top-left corner at (x, y); `vertical` writes bottom-to-top. */
  text(x: number, y: number, text: string, color: Rgb, scale = 2, vertical = false): void {
    [...text].forEach((char, index) => {
      const rows = glyph(char);
      rows.forEach((row, gy) => {
        row.forEach((on, gx) => {
          if (!on) return;
          const dx = index * GLYPH_ADVANCE + gx;
          if (vertical) this.rect(x + gy * scale, y - (dx + 1) * scale, scale, scale, color);
          else this.rect(x + dx * scale, y + gy * scale, scale, scale, color);
        });
      });
    });
  }

  /** Width of `text` in pixels at `scale`. */
  static textWidth(text: string, scale = 2): number {
    return Math.max(0, [...text].length * GLYPH_ADVANCE - 1) * scale;
  }

  /** Height of a line of text at `scale`. */
  static textHeight(scale = 2): number {
    return GLYPH_HEIGHT * scale;
  }

  /** The canvas as a PNG file. */
  png(): Buffer {
    return encodePng(this.width, this.height, this.pixels);
  }
}
