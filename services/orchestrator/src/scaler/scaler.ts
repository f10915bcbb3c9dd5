import { createLogger, type Logger, quoted } from "@chorus/shared";
import type { Pool } from "../executor/pool.js";
import type { Provider } from "../providers/provider.js";
import { ScaleRejected } from "./scale-rejected.js";
import { PoolScaler } from "./scaler-pool.js";
import { DEFAULT_RESTART_POLICY, type RestartPolicy } from "./scaler-restarts.js";
import type { ScalingEvent, ScalingEvents } from "./scaling-events.js";

/** Optional knobs of a Scaler. */
export interface ScalerOptions {
  readonly policy?: RestartPolicy | undefined;
  /** Milliseconds since the epoch; tests move it forward. */
  readonly clock?: (() => number) | undefined;
  readonly log?: Logger | undefined;
}

/** Scales every agent pool by its strategy and is the one consumer of the provider's block events. */
export class Scaler {
  private readonly scalers = new Map<string, PoolScaler>();

  constructor(
    pools: ReadonlyMap<string, Pool>,
    provider: Provider,
    /** Every pool's scaling events, which this scaler publishes. */
    readonly events: ScalingEvents,
    options: ScalerOptions = {},
  ) {
    const deps = {
      provider,
      events,
      policy: options.policy ?? DEFAULT_RESTART_POLICY,
      log: options.log ?? createLogger("scaler"),
      clock: options.clock ?? Date.now,
    };
    for (const pool of pools.values()) this.scalers.set(pool.name, new PoolScaler(pool, deps));
    provider.onEvent((event) => this.scalers.get(event.pool)?.onBlockEvent(event));
    provider.onNotice?.((notice) => this.scalers.get(notice.pool)?.onNotice(notice));
  }

  /** Launches every pool's init_blocks and starts the strategy loops (this orchestrator leads). */
  start(): void {
    for (const scaler of this.scalers.values()) scaler.start();
  }

  /** Stops the strategy loops but keeps applying block events, for an orchestrator that only routes. */
  pause(): void {
    for (const scaler of this.scalers.values()) scaler.pause();
  }

  /** True while the strategy loops run. */
  get leading(): boolean {
    return [...this.scalers.values()].some((scaler) => scaler.leading);
  }

  /** The scaler of one pool, or undefined. */
  pool(name: string): PoolScaler | undefined {
    return this.scalers.get(name);
  }

  /** Sets a pool's block count by hand; throws ScaleRejected for an unknown pool or a count out of bounds. */
  scale(pool: string, blocks: number): ScalingEvent {
    const scaler = this.scalers.get(pool);
    if (!scaler) {
      const known = [...this.scalers.keys()].join(", ");
      throw new ScaleRejected("unknown_pool", `pool: no agent pool named ${quoted(pool)} (pools: ${known})`);
    }
    return scaler.scaleTo(blocks);
  }

  /** Stops every strategy loop and replacement. */
  close(): void {
    for (const scaler of this.scalers.values()) scaler.close();
  }
}
