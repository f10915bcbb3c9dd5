import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import type { Logger } from "pino";

/** An error that carries the gRPC status code and message the caller should see. */
export class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
    /** Trailing metadata sent with the status, e.g. that the model failed (model-trailers.ts). */
    readonly trailers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "RpcError";
  }
}

/** Throws INVALID_ARGUMENT naming the offending field. */
export function invalidArgument(field: string, problem: string): never {
  throw new RpcError(status.INVALID_ARGUMENT, `${field}: ${problem}`);
}

/** Most characters of a caller's input an error message quotes. */
export const QUOTE_MAX_CHARS = 64;

/**
 * Caller input as an error message quotes it: JSON-quoted (control characters escaped), cut to
 * `max` characters with "…", so no input can make a status message long.
 */
export function quoted(value: string, max = QUOTE_MAX_CHARS): string {
  let kept = "";
  let count = 0;
  for (const char of value) {
    if (count === max) return `${JSON.stringify(kept).slice(0, -1)}…"`;
    kept += char;
    count += 1;
  }
  return JSON.stringify(value);
}

/** True when the value is an error carrying a gRPC status code (ours or a grpc-js client error). */
export function isStatusError(err: unknown): err is { code: status; message: string; details?: string } {
  return typeof err === "object" && err !== null && typeof (err as { code?: unknown }).code === "number";
}

/** The gRPC code of an error; INTERNAL for anything that does not carry one. */
export function codeOf(err: unknown): status {
  return isStatusError(err) ? err.code : status.INTERNAL;
}

/** The message a gRPC error carries without grpc-js's "N CODE: " prefix. */
export function detailsOf(err: unknown): string {
  if (isStatusError(err) && typeof err.details === "string") return err.details;
  return err instanceof Error ? err.message : String(err);
}

/**
 * The status message history answers (UNAVAILABLE) when its database cannot be reached: the
 * orchestrator fails the turn at once instead of waiting for history as for a restart.
 */
export const HISTORY_DATABASE_UNAVAILABLE = "history database unavailable";

/** Trailing metadata key telling a refused caller how long to wait before retrying, in ms. */
export const RETRY_AFTER_KEY = "retry-after-ms";

function trailerOf(err: RpcError): Metadata {
  const metadata = new Metadata();
  const retryAfterMs = (err as { retryAfterMs?: unknown }).retryAfterMs;
  if (typeof retryAfterMs === "number" && Number.isFinite(retryAfterMs) && retryAfterMs >= 0)
    metadata.set(RETRY_AFTER_KEY, String(Math.ceil(retryAfterMs)));
  for (const [key, value] of Object.entries(err.trailers)) metadata.set(key, value);
  return metadata;
}

// Longest status message sent: C-core clients treat a longer grpc-message trailer (their metadata
// limit is 8 KiB) as RESOURCE_EXHAUSTED, hiding the real code.
const MAX_DETAILS_CHARS = 1024;

function capped(details: string): string {
  return details.length <= MAX_DETAILS_CHARS ? details : `${details.slice(0, MAX_DETAILS_CHARS - 1)}…`;
}

/** Turns any thrown value into the error grpc-js sends; unknown errors become a generic INTERNAL. */
export function toServiceError(err: unknown, log: Logger, method: string): Partial<ServiceError> {
  // An error that says when to retry (a limit's refusal) carries it in a retry-after-ms trailer too.
  if (err instanceof RpcError)
    return { code: err.code, details: capped(err.message), metadata: trailerOf(err) };
  if (isStatusError(err) && err.code !== status.OK) {
    return { code: err.code, details: capped(detailsOf(err)), metadata: new Metadata() };
  }
  log.error({ err, method }, "unhandled error in handler");
  return { code: status.INTERNAL, details: "internal error", metadata: new Metadata() };
}
