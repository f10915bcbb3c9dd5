import { RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { LlmError, type LlmFailure } from "./llm-error.js";

const CODES: Record<LlmFailure, status> = {
  rate_limited: status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
  timeout: status.DEADLINE_EXCEEDED,
  cancelled: status.CANCELLED,
  // The model server refused the request itself (bad model name, key, prompt too long): retrying will not help.
  rejected: status.FAILED_PRECONDITION,
};

/** Turns an LlmError into the RpcError the caller sees, naming the agent; other errors pass through. */
export function toRpcError(err: unknown, agent: string): unknown {
  if (!(err instanceof LlmError)) return err;
  return new RpcError(CODES[err.kind], `agent ${agent}: ${err.message}`);
}
