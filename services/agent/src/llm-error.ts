/** Why a model call failed, in terms the agent maps to gRPC statuses. */
export type LlmFailure = "rate_limited" | "unavailable" | "timeout" | "cancelled" | "rejected";

/** A classified model-call failure. */
export class LlmError extends Error {
  constructor(
    readonly kind: LlmFailure,
    message: string,
    /** HTTP status of the model server's answer, when there was one. */
    readonly httpStatus?: number,
  ) {
    super(message);
    this.name = "LlmError";
  }
}
