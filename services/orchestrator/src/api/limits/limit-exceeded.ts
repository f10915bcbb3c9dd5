import { RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import type { LimitName } from "./counter-store.js";

/** RESOURCE_EXHAUSTED for a principal past one of its limits; the message and `retryAfterMs` say when to retry. */
export class LimitExceededError extends RpcError {
  constructor(
    readonly limit: LimitName,
    readonly value: number,
    who: string,
    readonly retryAfterMs: number,
  ) {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super(status.RESOURCE_EXHAUSTED, `${limit} ${value} reached for ${who}; retry after ${seconds} s`);
    this.name = "LimitExceededError";
  }
}
