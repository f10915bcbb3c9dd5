/** Longest title, in characters, before it is cut. */
export const TITLE_MAX_CHARS = 80;

/** A conversation title from its first message: whitespace collapsed, cut to 80 characters. */
export function titleOf(message: string): string {
  const flat = message.replace(/\s+/g, " ").trim();
  // Count code points, not UTF-16 units, so a cut never splits a surrogate pair.
  const chars = Array.from(flat);
  if (chars.length <= TITLE_MAX_CHARS) return flat;
  const head = chars.slice(0, TITLE_MAX_CHARS - 1).join("");
  const space = head.lastIndexOf(" ");
  // Prefer a word boundary unless it would throw away most of the title.
  const cut = space >= TITLE_MAX_CHARS / 2 ? head.slice(0, space) : head;
  return `${cut.trimEnd()}…`;
}
