/** Why a model call failed, in terms the agent maps to gRPC statuses. */
export type LlmFailure = "rate_limited" | "unavailable" | "timeout" | "cancelled" | "rejected";

/** Set on a failure while the endpoint's circuit breaker is open: the model is down, not just this call. */
export interface ModelDown {
  /** The model endpoint (base URL). */
  readonly endpoint: string;
  /** When the breaker lets the next probe through, in ms from now. */
  readonly retryAfterMs: number;
}

/** A classified model-call failure. */
export class LlmError extends Error {
  constructor(
    readonly kind: LlmFailure,
    message: string,
    /** HTTP status of the model server's answer, when there was one. */
    readonly httpStatus?: number,
    /** Present when the endpoint's breaker is open. */
    readonly modelDown?: ModelDown,
  ) {
    super(message);
    this.name = "LlmError";
  }
}
