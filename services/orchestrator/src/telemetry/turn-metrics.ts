import { LATENCY_BUCKETS } from "@chorus/shared";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The Prometheus view of turns, tasks, the cache and pool utilization. */
export interface TurnMetrics {
  readonly turns: Counter<"ok">;
  readonly turnSeconds: Histogram<string>;
  readonly agentSeconds: Histogram<"agent" | "ok">;
  readonly cache: Counter<"result">;
}

/** Registers the turn metrics; `utilization` is read at scrape time, one value per pool. */
export function turnMetrics(registry: Registry, utilization: () => Iterable<[string, number]>): TurnMetrics {
  const registers = [registry];
  new Gauge({
    name: "chorus_pool_utilization",
    help: "Busy worker-time over available worker-time of each pool in the recent window (stats_window_seconds).",
    labelNames: ["pool"],
    registers,
    collect() {
      for (const [pool, value] of utilization()) this.set({ pool }, value);
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
      help: "Wall time of agent tasks that reached an agent, per agent and outcome.",
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
