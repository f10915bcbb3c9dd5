import { create } from "@bufbuild/protobuf";
import {
  type Health,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Serving,
} from "@chorus/proto";
import { status } from "@grpc/grpc-js";
import type { ServiceHandlers } from "./grpc-bridge.js";
import { quoted, RpcError } from "./status.js";

/** Serving status of each service name ("" is the whole server), with change notification for Watch. */
export class HealthState {
  private readonly statuses = new Map<string, Serving>();
  private readonly listeners = new Set<() => void>();

  /** Sets the status of `service` ("" for the whole server). */
  set(service: string, serving: boolean): void {
    this.statuses.set(service, serving ? Serving.SERVING : Serving.NOT_SERVING);
    for (const listener of this.listeners) listener();
  }

  /** Marks every registered service NOT_SERVING, as the first step of shutdown. */
  shutdown(): void {
    for (const service of this.statuses.keys()) this.statuses.set(service, Serving.NOT_SERVING);
    for (const listener of this.listeners) listener();
  }

  /** The status of `service`, or undefined when unknown. */
  get(service: string): Serving | undefined {
    return this.statuses.get(service);
  }

  /** Calls `listener` on every change until the returned function is called. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

function responseOf(serving: Serving): HealthCheckResponse {
  return create(HealthCheckResponseSchema, { status: serving });
}

/** grpc.health.v1.Health handlers backed by a HealthState. */
export function healthHandlers(state: HealthState): ServiceHandlers<typeof Health> {
  return {
    async check(request) {
      const serving = state.get(request.service);
      if (serving === undefined)
        throw new RpcError(status.NOT_FOUND, `unknown service ${quoted(request.service)}`);
      return responseOf(serving);
    },
    async *watch(request, context) {
      let last: Serving | undefined;
      let wake: () => void = () => {};
      const unsubscribe = state.subscribe(() => wake());
      context.signal.addEventListener("abort", () => wake(), { once: true });
      try {
        while (!context.signal.aborted) {
          const current = state.get(request.service) ?? Serving.SERVICE_UNKNOWN;
          if (current !== last) {
            last = current;
            yield responseOf(current);
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      } finally {
        unsubscribe();
      }
    },
  };
}
