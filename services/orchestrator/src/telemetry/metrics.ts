import type { Metrics } from "@chorus/shared";
import { Counter, Gauge } from "prom-client";

/** What the pool gauges read from one pool at scrape time. */
export interface PoolGaugeSource {
  readonly name: string;
  readonly queued: number;
  readonly outstanding: number;
  readonly readySlots: number;
  /** Hedges sent, and those that answered first. */
  readonly hedges: { readonly sent: number; readonly won: number };
  countByState(): Record<string, number>;
}

/** A feed of scaling events, counted per pool and reason. */
export interface ScalingEventFeed {
  subscribe(listener: (event: { readonly pool: string; readonly reason: string }) => void): unknown;
}

/** Registers the pool gauges (read from `pools` at scrape time) and the scaling event counter. */
export function poolMetrics(
  metrics: Metrics,
  pools: ReadonlyMap<string, PoolGaugeSource>,
  events: ScalingEventFeed,
): void {
  const registers = [metrics.registry];
  const scalingEvents = new Counter({
    name: "chorus_scaling_events_total",
    help: "Scaling events per pool and reason (init, scale_out, scale_in, admission, replace_failed, ...).",
    labelNames: ["pool", "reason"],
    registers,
  });
  events.subscribe((event) => scalingEvents.inc({ pool: event.pool, reason: event.reason }));
  new Gauge({
    name: "chorus_pool_queued_tasks",
    help: "Tasks waiting for a worker slot, per pool.",
    labelNames: ["pool"],
    registers,
    collect() {
      for (const pool of pools.values()) this.set({ pool: pool.name }, pool.queued);
    },
  });
  new Gauge({
    name: "chorus_pool_outstanding_tasks",
    help: "Queued plus running tasks, per pool.",
    labelNames: ["pool"],
    registers,
    collect() {
      for (const pool of pools.values()) this.set({ pool: pool.name }, pool.outstanding);
    },
  });
  new Gauge({
    name: "chorus_pool_slots",
    help: "Worker slots of running replicas (blocks), per pool.",
    labelNames: ["pool"],
    registers,
    collect() {
      for (const pool of pools.values()) this.set({ pool: pool.name }, pool.readySlots);
    },
  });
  new Counter({
    name: "chorus_pool_hedged_tasks_total",
    help: "Tasks hedged (a second copy sent to another replica after the pool's recent p95), per pool and whether the hedge answered first.",
    labelNames: ["pool", "won"],
    registers,
    collect() {
      this.reset();
      for (const pool of pools.values()) {
        this.inc({ pool: pool.name, won: "true" }, pool.hedges.won);
        this.inc({ pool: pool.name, won: "false" }, pool.hedges.sent - pool.hedges.won);
      }
    },
  });
  new Gauge({
    name: "chorus_pool_replicas",
    help: "Replicas (blocks) per pool and state.",
    labelNames: ["pool", "state"],
    registers,
    collect() {
      this.reset();
      for (const pool of pools.values()) {
        for (const [state, count] of Object.entries(pool.countByState()))
          this.set({ pool: pool.name, state }, count);
      }
    },
  });
}
