import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ChatService, ScalingEventSchema } from "@chorus/proto";
import { quoted, RpcError, type ServiceHandlers } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { ScaleRejected } from "../scaler/scale-rejected.js";
import type { Scaler } from "../scaler/scaler.js";
import type { ScalingEvent, ScalingEvents } from "../scaler/scaling-events.js";
import type { Audit } from "./auth/audit.js";
import { callerOf } from "./caller.js";
import { watchScaling } from "./scaling-watch.js";

type Handlers = ServiceHandlers<typeof ChatService>;

/** A scaling event as the API sends it. */
export function scalingEventMessage(event: ScalingEvent): MessageInitShape<typeof ScalingEventSchema> {
  return {
    timestampMs: BigInt(event.timeMs),
    pool: event.pool,
    blocksBefore: event.blocksBefore,
    blocksAfter: event.blocksAfter,
    reason: event.reason,
    tasks: event.tasks,
    slots: event.slots,
    strategy: event.strategy,
    detail: event.detail,
    blockIds: [...event.blockIds],
  };
}

/** The WatchScaling and ScalePool handlers. */
export function scalingHandlers(
  scaler: Scaler,
  events: ScalingEvents,
  access: { readonly authEnabled: boolean; readonly audit: Audit },
): Pick<Handlers, "watchScaling" | "scalePool"> {
  return {
    async *watchScaling(request, context) {
      if (request.pool !== "" && !scaler.pool(request.pool)) {
        throw new RpcError(status.NOT_FOUND, `pool: no agent pool named ${quoted(request.pool)}`);
      }
      const options = {
        pool: request.pool || undefined,
        replayOnly: request.replayOnly,
        signal: context.signal,
      };
      for await (const event of watchScaling(events, options)) yield scalingEventMessage(event);
    },

    async scalePool(request, context) {
      if (request.pool === "") throw new RpcError(status.INVALID_ARGUMENT, "pool: must name an agent pool");
      const principal = callerOf(context, access.authEnabled);
      const record = (result: string) =>
        access.audit.record({
          principal,
          method: "ScalePool",
          target: `pool/${request.pool.slice(0, 64)} blocks=${request.blocks}`,
          result,
        });
      try {
        const event = scaler.scale(request.pool, request.blocks);
        record("ok");
        return { event: scalingEventMessage(event) };
      } catch (err) {
        if (!(err instanceof ScaleRejected)) throw err;
        record(err.reason);
        throw new RpcError(
          err.reason === "unknown_pool" ? status.NOT_FOUND : status.INVALID_ARGUMENT,
          err.message,
        );
      }
    },
  };
}
