import { randomUUID } from "node:crypto";
import type { Metadata } from "@grpc/grpc-js";

/** Metadata key carrying the request id across services. */
export const REQUEST_ID_KEY = "x-request-id";

/** What a handler knows about the call it serves. */
export interface CallContext {
  /** Aborted when the caller cancels or the deadline passes. */
  readonly signal: AbortSignal;
  /** The caller's deadline, if any. */
  readonly deadline: Date | undefined;
  /** Request id from the caller's metadata, or a fresh one. */
  readonly requestId: string;
  /** Incoming metadata. */
  readonly metadata: Metadata;
  /** The caller's address as the transport reports it (grpc-js getPeer(): ip:port of its connection). */
  readonly peer: string;
}

/** Reads the request id from metadata, or makes one. */
export function requestIdFrom(metadata: Metadata): string {
  const value = metadata.get(REQUEST_ID_KEY)[0];
  return typeof value === "string" && value.length > 0 && value.length <= 128 ? value : randomUUID();
}

/** A deadline as a Date, whatever form grpc-js gives it in. */
export function deadlineDate(deadline: Date | number | undefined): Date | undefined {
  if (deadline === undefined) return undefined;
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}
