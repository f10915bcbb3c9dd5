import { MODEL_DOWN_KEY, MODEL_FAILURE_KEY, RpcError } from "@chorus/shared";
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

/** An RpcError that says the model failed; while the breaker is open it says when the next probe is. */
class ModelRpcError extends RpcError {
  constructor(
    code: status,
    message: string,
    trailers: Record<string, string>,
    readonly retryAfterMs?: number,
  ) {
    super(code, message, trailers);
  }
}

/**
 * Turns an LlmError into the RpcError the caller sees, naming the agent, with trailers saying the
 * model failed (and is down, while the breaker is open); other errors pass through.
 */
export function toRpcError(err: unknown, agent: string): unknown {
  if (!(err instanceof LlmError)) return err;
  const message = `agent ${agent}: ${err.message}`;
  // A cancelled call is the caller's doing, not the model's.
  if (err.kind === "cancelled") return new RpcError(CODES[err.kind], message);
  const trailers: Record<string, string> = { [MODEL_FAILURE_KEY]: err.kind };
  if (err.modelDown) trailers[MODEL_DOWN_KEY] = err.modelDown.endpoint;
  return new ModelRpcError(CODES[err.kind], message, trailers, err.modelDown?.retryAfterMs);
}
