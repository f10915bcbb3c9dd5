import type { Logger } from "@chorus/shared";
import type { BlockEvent } from "./block.js";
import type { Pool } from "./pool.js";
import type { Provider } from "./provider.js";

/** Bounds on replacing failed replicas. */
export interface RestartPolicy {
  /** Replacements allowed per pool within `windowMs`. */
  readonly maxRestarts: number;
  readonly windowMs: number;
  /** First backoff; doubles with each recent restart. */
  readonly backoffMs: number;
}

/** Keeps each pool at its configured replica count, replacing failed replicas with bounded backoff. */
export class ReplicaKeeper {
  private readonly restarts = new Map<string, number[]>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly pools: ReadonlyMap<string, Pool>,
    private readonly provider: Provider,
    private readonly policy: RestartPolicy,
    private readonly log: Logger,
  ) {
    provider.onEvent((event) => this.onEvent(event));
  }

  /** Launches every pool's configured replicas. */
  start(): void {
    for (const pool of this.pools.values()) {
      if (pool.agent.replicas > 0) this.provider.launch(pool.name, pool.agent.replicas);
    }
  }

  private onEvent(event: BlockEvent): void {
    if (event.state !== "FAILED" || this.closed) return;
    const now = Date.now();
    const recent = (this.restarts.get(event.pool) ?? []).filter((t) => now - t < this.policy.windowMs);
    if (recent.length >= this.policy.maxRestarts) {
      this.log.error(
        { pool: event.pool, detail: event.detail },
        "replica failed too often; not replacing it",
      );
      this.restarts.set(event.pool, recent);
      return;
    }
    recent.push(now);
    this.restarts.set(event.pool, recent);
    const backoff = this.policy.backoffMs * 2 ** (recent.length - 1);
    this.log.warn(
      { pool: event.pool, block: event.blockId, detail: event.detail, backoff },
      "replacing failed replica",
    );
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) this.provider.launch(event.pool, 1);
    }, backoff);
    this.timers.add(timer);
  }

  /** Stops replacing replicas. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
  }
}
