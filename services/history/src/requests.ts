import type { Turn } from "@chorus/proto";
import { invalidArgument, validateId } from "@chorus/shared";
import { decodePageToken, type PageCursor } from "./page-token.js";

/** Page size or result limit used when the request leaves it 0. */
export const DEFAULT_COUNT = 20;
/** Largest page size or result limit a request may ask for. */
export const MAX_COUNT = 100;
/** Longest search query, in characters (SQLite caps LIKE patterns at 50,000 bytes). */
export const MAX_QUERY_CHARS = 1000;
/** Longest lease a ClaimTurn may ask for, in milliseconds. */
export const MAX_LEASE_MS = 600_000;

function validateMillis(field: string, value: number): void {
  if (!Number.isFinite(value) || value < 0)
    invalidArgument(field, "must be a finite number of milliseconds ≥ 0");
}

function validateEpochMillis(field: string, value: bigint): void {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    invalidArgument(field, "must be milliseconds since the Unix epoch, 0 to 2^53 - 1");
  }
}

/**
 * Text fields may not hold U+0000: PostgreSQL's text cannot store it, and both backends must
 * accept the same turns (SQLite would, and a PostgreSQL replica would then fail the same write).
 */
function validateText(field: string, value: string): void {
  if (value.includes("\u0000")) invalidArgument(field, "must not contain U+0000 (NUL)");
}

/** Returns the turn of an AppendTurn request once every field it stores is valid. */
export function validateTurn(turn: Turn | undefined, maxMessageBytes: number): Turn {
  if (!turn) return invalidArgument("turn", "is required");
  validateId("turn.turn_id", turn.turnId);
  validateId("turn.conversation_id", turn.conversationId);
  if (turn.message.trim().length === 0) invalidArgument("turn.message", "is required");
  if (Buffer.byteLength(turn.message) > maxMessageBytes) {
    invalidArgument("turn.message", `is longer than ${maxMessageBytes} bytes`);
  }
  validateText("turn.message", turn.message);
  validateText("turn.answer", turn.answer);
  turn.answeredBy.forEach((name, index) => {
    validateText(`turn.answered_by[${index}]`, name);
  });
  validateMillis("turn.latency_ms", turn.latencyMs);
  validateEpochMillis("turn.started_at_ms", turn.startedAtMs);
  validateEpochMillis("turn.completed_at_ms", turn.completedAtMs);
  turn.agentAnswers.forEach((answer, index) => {
    for (const key of ["agent", "replica", "text", "error"] as const) {
      validateText(`turn.agent_answers[${index}].${key}`, answer[key]);
    }
    validateMillis(`turn.agent_answers[${index}].latency_ms`, answer.latencyMs);
  });
  return turn;
}

/** A page size or limit: 0 means DEFAULT_COUNT, more than MAX_COUNT is INVALID_ARGUMENT naming `field`. */
export function validateCount(field: string, value: number): number {
  if (value === 0) return DEFAULT_COUNT;
  if (value > MAX_COUNT) invalidArgument(field, `must be at most ${MAX_COUNT}`);
  return value;
}

/** The cursor of a ListConversations page token; empty is the first page. */
export function validatePageToken(token: string): PageCursor | undefined {
  if (token === "") return undefined;
  return decodePageToken(token) ?? invalidArgument("page_token", "is not a token from a previous page");
}

/** A search query: required and at most MAX_QUERY_CHARS characters. */
export function validateQuery(query: string): string {
  if (query.length === 0) invalidArgument("query", "is required");
  if (query.length > MAX_QUERY_CHARS)
    invalidArgument("query", `must be at most ${MAX_QUERY_CHARS} characters`);
  validateText("query", query);
  return query;
}

/** A claim's lease: 1 to MAX_LEASE_MS milliseconds. */
export function validateLease(leaseMs: number): number {
  if (leaseMs < 1 || leaseMs > MAX_LEASE_MS) invalidArgument("lease_ms", `must be 1 to ${MAX_LEASE_MS}`);
  return leaseMs;
}
