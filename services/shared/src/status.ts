import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import type { Logger } from "pino";

/** An error that carries the gRPC status code and message the caller should see. */
export class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = "RpcError";
  }
}

/** Throws INVALID_ARGUMENT naming the offending field. */
export function invalidArgument(field: string, problem: string): never {
  throw new RpcError(status.INVALID_ARGUMENT, `${field}: ${problem}`);
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

/** Turns any thrown value into the error grpc-js sends; unknown errors become a generic INTERNAL. */
export function toServiceError(err: unknown, log: Logger, method: string): Partial<ServiceError> {
  if (err instanceof RpcError) return { code: err.code, details: err.message, metadata: new Metadata() };
  if (isStatusError(err) && err.code !== status.OK) {
    return { code: err.code, details: detailsOf(err), metadata: new Metadata() };
  }
  log.error({ err, method }, "unhandled error in handler");
  return { code: status.INTERNAL, details: "internal error", metadata: new Metadata() };
}
