const ESC = String.fromCharCode(0x1b);
const BEL = String.fromCharCode(0x07);
/** Escape sequences: CSI (cursor moves, erases), OSC (titles) and the two-character ones. */
const ESCAPE = new RegExp(`${ESC}(?:\\[([0-9;?]*)([@-~])|\\][^${BEL}]*${BEL}|[()][0-9A-Za-z]|[=>78])`, "y");

/**
 * What a terminal shows after `raw` output: carriage returns overwrite, `ESC[nG` moves the cursor,
 * `ESC[K`/`ESC[J` erase, so a progress bar redrawn in place reads as its last state.
 */
export function renderScreen(raw: string): string[] {
  const lines: string[][] = [[]];
  let row = 0;
  let col = 0;
  const line = () => {
    lines[row] ??= [];
    return lines[row] as string[];
  };
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i] as string;
    if (ch === ESC) {
      ESCAPE.lastIndex = i;
      const match = ESCAPE.exec(raw);
      if (!match) continue;
      i += match[0].length - 1;
      const n = Number.parseInt(match[1] ?? "", 10);
      switch (match[2]) {
        case "G":
          col = (Number.isNaN(n) ? 1 : n) - 1;
          break;
        case "C":
          col += Number.isNaN(n) ? 1 : n;
          break;
        case "D":
          col = Math.max(0, col - (Number.isNaN(n) ? 1 : n));
          break;
        case "A":
          row = Math.max(0, row - (Number.isNaN(n) ? 1 : n));
          break;
        case "K":
          line().length = Math.min(line().length, col);
          break;
        case "J":
          line().length = Math.min(line().length, col);
          lines.length = row + 1;
          break;
      }
    } else if (ch === "\r") col = 0;
    else if (ch === "\n") {
      row += 1;
      line();
    } else if (ch === "\b") col = Math.max(0, col - 1);
    else if (ch >= " ") {
      const current = line();
      while (current.length < col) current.push(" ");
      current[col] = ch;
      col += 1;
    }
  }
  return lines.map((chars) => chars.join("").trimEnd());
}
