import { RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import type { ScalingEvent, ScalingEvents } from "../scaler/scaling-events.js";

/** Events a watcher may fall behind by before its stream ends with RESOURCE_EXHAUSTED. */
const MAX_BACKLOG = 1024;

/** What one WatchScaling call asks for. */
export interface WatchOptions {
  /** Only this pool's events; undefined for all. */
  readonly pool: string | undefined;
  /** End after the recent events instead of following new ones. */
  readonly replayOnly: boolean;
  readonly signal: AbortSignal;
}

/** Yields the recent scaling events, then live ones until `signal` aborts; UNAVAILABLE once the events close. */
export async function* watchScaling(
  events: ScalingEvents,
  options: WatchOptions,
): AsyncGenerator<ScalingEvent> {
  const wanted = (event: ScalingEvent) => options.pool === undefined || event.pool === options.pool;
  const backlog: ScalingEvent[] = [];
  let overflow = false;
  let shutdown = false;
  let wake: (() => void) | undefined;
  const stop = () => wake?.();
  // Subscribe first: events published while the replay is being sent wait in the backlog.
  const unsubscribe = options.replayOnly
    ? () => {}
    : events.subscribe(
        (event) => {
          if (!wanted(event)) return;
          if (backlog.length >= MAX_BACKLOG) overflow = true;
          else backlog.push(event);
          wake?.();
        },
        () => {
          shutdown = true;
          stop();
        },
      );
  options.signal.addEventListener("abort", stop, { once: true });
  try {
    for (const event of events.recent()) if (wanted(event)) yield event;
    if (options.replayOnly) return;
    for (;;) {
      const event = backlog.shift();
      if (event) {
        yield event;
        continue;
      }
      if (options.signal.aborted) return;
      if (overflow)
        throw new RpcError(status.RESOURCE_EXHAUSTED, `watcher fell ${MAX_BACKLOG} events behind`);
      if (shutdown) throw new RpcError(status.UNAVAILABLE, "the orchestrator is shutting down");
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    unsubscribe();
    options.signal.removeEventListener("abort", stop);
  }
}
