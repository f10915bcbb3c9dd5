import { isValidId } from "@chorus/shared";

/** Where a page of conversations ends: the last conversation's update time and id. */
export interface PageCursor {
  readonly updatedAtMs: number;
  readonly conversationId: string;
}

/** Encodes a cursor as an opaque base64url page token. */
export function encodePageToken(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.updatedAtMs, cursor.conversationId])).toString("base64url");
}

/** Decodes a page token; undefined when it is not one this service issued. */
export function decodePageToken(token: string): PageCursor | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) return undefined;
  const [updatedAtMs, conversationId] = parsed as unknown[];
  if (!Number.isSafeInteger(updatedAtMs) || typeof conversationId !== "string") return undefined;
  if (!isValidId(conversationId)) return undefined;
  return { updatedAtMs: updatedAtMs as number, conversationId };
}
