import { Canvas, type Rgb } from "./canvas.js";

/** One line of a chart. */
export interface Series {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
  readonly color: Rgb;
  /** Draw as a staircase (value holds until the next point), as block counts do. */
  readonly step?: boolean;
  readonly dashed?: boolean;
  /** Mark each point with a square. */
  readonly markers?: boolean;
}

/** A line chart. */
export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly xLog?: boolean;
  readonly xMin?: number;
  readonly xMax?: number;
  readonly yMin?: number;
  readonly yMax?: number;
  /** Vertical marker lines with labels, e.g. the load step. */
  readonly markers?: ReadonlyArray<{ x: number; label: string }>;
  readonly width?: number;
  readonly height?: number;
  /** Corner of the plot area the legend sits in (default top-right). */
  readonly legend?: "top-left" | "top-right" | "bottom-right";
}

/** Colours that stay apart on white. */
export const PALETTE: Record<string, Rgb> = {
  blue: [31, 119, 180],
  orange: [230, 120, 20],
  green: [44, 160, 44],
  red: [214, 39, 40],
  purple: [148, 103, 189],
  grey: [120, 120, 120],
  brown: [140, 86, 75],
};

const INK: Rgb = [30, 30, 30];
const GRID: Rgb = [225, 225, 225];

/** About `count` round tick values covering [min, max]. */
export function niceTicks(min: number, max: number, count = 6): number[] {
  const span = max - min || Math.abs(max) || 1;
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e += 1) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= min * 0.999 && v <= max * 1.001) ticks.push(Number(v.toPrecision(6)));
    }
  }
  return ticks;
}

/** A short label for a tick value. */
export function formatTick(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 10_000) return `${Number((value / 1000).toPrecision(3))}k`;
  if (abs >= 1 || abs === 0) return String(Number(value.toPrecision(4)));
  return String(Number(value.toPrecision(2)));
}

function extent(values: number[], fallback: [number, number]): [number, number] {
  const finite = values.filter(Number.isFinite);
  return finite.length === 0 ? fallback : [Math.min(...finite), Math.max(...finite)];
}

/** Renders a line chart as a PNG file. */
export function lineChart(spec: ChartSpec): Buffer {
  const width = spec.width ?? 1000;
  const height = spec.height ?? 600;
  const canvas = new Canvas(width, height);
  const plot = { left: 100, right: width - 30, top: 60, bottom: height - 80 };
  const xs = spec.series.flatMap((s) => s.points.map(([x]) => x)).filter((x) => !spec.xLog || x > 0);
  const ys = spec.series.flatMap((s) => s.points.map(([, y]) => y));
  let [xMin, xMax] = extent(xs, [0, 1]);
  let [yMin, yMax] = extent(ys, [0, 1]);
  xMin = spec.xMin ?? xMin;
  xMax = spec.xMax ?? xMax;
  yMin = spec.yMin ?? Math.min(0, yMin);
  yMax = spec.yMax ?? yMax * 1.08;
  if (xMax <= xMin) xMax = xMin + 1;
  if (yMax <= yMin) yMax = yMin + 1;
  const xTicks = spec.xLog ? logTicks(xMin, xMax) : niceTicks(xMin, xMax);
  const yTicks = niceTicks(yMin, yMax);
  const toX = (x: number) => {
    const f = spec.xLog
      ? (Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))
      : (x - xMin) / (xMax - xMin);
    return plot.left + f * (plot.right - plot.left);
  };
  const toY = (y: number) => plot.bottom - ((y - yMin) / (yMax - yMin)) * (plot.bottom - plot.top);

  for (const t of yTicks) {
    if (t < yMin || t > yMax) continue;
    canvas.line(plot.left, toY(t), plot.right, toY(t), GRID);
    const label = formatTick(t);
    canvas.text(plot.left - 10 - Canvas.textWidth(label), toY(t) - 7, label, INK);
  }
  for (const t of xTicks) {
    if (t < xMin || t > xMax) continue;
    canvas.line(toX(t), plot.top, toX(t), plot.bottom, GRID);
    const label = formatTick(t);
    canvas.text(toX(t) - Canvas.textWidth(label) / 2, plot.bottom + 10, label, INK);
  }
  canvas.line(plot.left, plot.bottom, plot.right, plot.bottom, INK, 2);
  canvas.line(plot.left, plot.top, plot.left, plot.bottom, INK, 2);
  for (const marker of spec.markers ?? []) {
    const x = toX(marker.x);
    canvas.line(x, plot.top, x, plot.bottom, PALETTE.grey ?? INK, 2, 6);
    canvas.text(x + 6, plot.top + 4, marker.label, PALETTE.grey ?? INK);
  }

  for (const series of spec.series) {
    const points = series.points.filter(
      ([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!spec.xLog || x > 0),
    );
    const clampY = (y: number) => toY(Math.min(Math.max(y, yMin), yMax));
    for (let i = 1; i < points.length; i += 1) {
      const [ax, ay] = points[i - 1] as readonly [number, number];
      const [bx, by] = points[i] as readonly [number, number];
      const dash = series.dashed ? 8 : 0;
      if (series.step) {
        canvas.line(toX(ax), clampY(ay), toX(bx), clampY(ay), series.color, 3, dash);
        canvas.line(toX(bx), clampY(ay), toX(bx), clampY(by), series.color, 3, dash);
      } else canvas.line(toX(ax), clampY(ay), toX(bx), clampY(by), series.color, 3, dash);
    }
    if (series.markers)
      for (const [x, y] of points) canvas.rect(toX(x) - 4, clampY(y) - 4, 9, 9, series.color);
  }

  canvas.text((width - Canvas.textWidth(spec.title, 3)) / 2, 16, spec.title, INK, 3);
  canvas.text((plot.left + plot.right - Canvas.textWidth(spec.xLabel)) / 2, height - 36, spec.xLabel, INK);
  canvas.text(24, (plot.top + plot.bottom + Canvas.textWidth(spec.yLabel)) / 2, spec.yLabel, INK, 2, true);
  drawLegend(canvas, spec.series, plot, spec.legend ?? "top-right");
  return canvas.png();
}

function drawLegend(
  canvas: Canvas,
  series: readonly Series[],
  plot: { left: number; right: number; top: number; bottom: number },
  corner: NonNullable<ChartSpec["legend"]>,
): void {
  const widest = Math.max(...series.map((s) => Canvas.textWidth(s.name)), 0);
  const boxWidth = widest + 50;
  const boxHeight = series.length * 24 + 10;
  const x = corner === "top-left" ? plot.left + 10 : plot.right - boxWidth - 10;
  let y = corner === "bottom-right" ? plot.bottom - boxHeight - 10 : plot.top + 10;
  canvas.rect(x, y, boxWidth, boxHeight, [250, 250, 250]);
  y += 8;
  for (const s of series) {
    canvas.line(x + 8, y + 7, x + 32, y + 7, s.color, 4, s.dashed ? 6 : 0);
    canvas.text(x + 40, y, s.name, INK);
    y += 24;
  }
}
