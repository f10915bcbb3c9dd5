import { LATENCY_BUCKETS, type Metrics } from "@chorus/shared";
import { Counter, Gauge, Histogram } from "prom-client";

/** What the pool gauges read from one pool at scrape time. */
export interface PoolGaugeSource {
  readonly name: string;
  readonly queued: number;
  readonly outstanding: number;
  readonly readySlots: number;
  countByState(): Record<string, number>;
}

/** A feed of scaling events, counted per pool and reason. */
export interface ScalingEventFeed {
  subscribe(listener: (event: { readonly pool: string; readonly reason: string }) => void): unknown;
}

/** The orchestrator's own Prometheus metrics. */
export interface OrchestratorMetrics {
  readonly turns: Counter<"ok">;
  readonly turnSeconds: Histogram<string>;
  readonly agentSeconds: Histogram<"agent" | "ok">;
  readonly cache: Counter<"result">;
}

/** Registers the orchestrator's metrics, reading pool gauges from `pools` at scrape time. */
export function orchestratorMetrics(
  metrics: Metrics,
  pools: ReadonlyMap<string, PoolGaugeSource>,
  events: ScalingEventFeed,
): OrchestratorMetrics {
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
  return {
    turns: new Counter({
      name: "chorus_turns_total",
      help: "Finished turns by outcome.",
      labelNames: ["ok"],
      registers,
    }),
    turnSeconds: new Histogram({
      name: "chorus_turn_duration_seconds",
      help: "Wall time of successful turns.",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    agentSeconds: new Histogram({
      name: "chorus_agent_task_duration_seconds",
      help: "Wall time of agent tasks, per agent and outcome.",
      labelNames: ["agent", "ok"],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    cache: new Counter({
      name: "chorus_cache_lookups_total",
      help: "Response cache lookups by result.",
      labelNames: ["result"],
      registers,
    }),
  };
}
