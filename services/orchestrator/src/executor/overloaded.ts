import { RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";

/** How long a caller whose work was shed is told to wait before retrying (a slot frees when some turn ends). */
export const SHED_RETRY_AFTER_MS = 1000;

/** RESOURCE_EXHAUSTED for work shed from a full queue; `retryAfterMs` becomes the retry-after-ms trailer. */
export class OverloadedError extends RpcError {
  constructor(
    message: string,
    readonly retryAfterMs: number = SHED_RETRY_AFTER_MS,
  ) {
    super(status.RESOURCE_EXHAUSTED, message);
    this.name = "OverloadedError";
  }
}
