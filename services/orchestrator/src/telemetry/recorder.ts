import type { Registry } from "prom-client";
import { Stats } from "./stats.js";
import { type TurnMetrics, turnMetrics } from "./turn-metrics.js";
import { UtilizationWindow } from "./utilization.js";

/** How one agent task ended (the shape of turn/'s TaskRecord). */
export interface TaskRecord {
  readonly outcome: "ok" | "failed" | "stopped";
  readonly cached: boolean;
  readonly latencyMs: number;
  readonly attempts: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/** How long utilization looks back, and the clock it reads (monotonic ms). */
export interface RecorderOptions {
  readonly windowMs: number;
  readonly now?: (() => number) | undefined;
}

/** The one recorder of turn telemetry: each event updates GetStats' counters and Prometheus together. */
export class Recorder {
  /** GetStats' view. */
  readonly stats = new Stats();
  private readonly metrics: TurnMetrics;
  private readonly pools = new Map<string, UtilizationWindow>();
  private readonly now: () => number;

  constructor(
    registry: Registry,
    private readonly options: RecorderOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.metrics = turnMetrics(registry, () =>
      [...this.pools.keys()].map((pool): [string, number] => [pool, this.utilization(pool)]),
    );
  }

  turnStarted(atMs: number): void {
    this.stats.turnStarted(atMs);
  }

  turnFinished(ok: boolean, latencyMs: number, atMs: number): void {
    this.stats.turnFinished(ok, latencyMs, atMs);
    this.metrics.turns.inc({ ok: String(ok) });
    if (ok) this.metrics.turnSeconds.observe(latencyMs / 1000);
  }

  taskStarted(agent: string): void {
    this.stats.agent(agent).requests += 1;
  }

  cacheLookup(agent: string, hit: boolean): void {
    if (hit) {
      this.stats.cacheHits += 1;
      this.stats.agent(agent).cacheHits += 1;
    } else {
      this.stats.cacheMisses += 1;
    }
    this.metrics.cache.inc({ result: hit ? "hit" : "miss" });
  }

  taskFinished(agent: string, task: TaskRecord): void {
    const counters = this.stats.agent(agent);
    if (task.outcome === "ok") counters.succeeded += 1;
    if (task.cached) return;
    if (task.outcome === "failed") counters.errors += 1;
    counters.llmCalls += task.attempts;
    counters.promptTokens += task.promptTokens;
    counters.completionTokens += task.completionTokens;
    if (task.outcome !== "stopped") {
      counters.latencyMsTotal += task.latencyMs;
      counters.timed += 1;
    }
    this.metrics.agentSeconds.observe({ agent, ok: String(task.outcome === "ok") }, task.latencyMs / 1000);
  }

  /** Records that `busy` of a pool's `slots` worker slots are in use from now on. */
  poolLoad(pool: string, busy: number, slots: number): void {
    let window = this.pools.get(pool);
    if (!window) {
      window = new UtilizationWindow(this.options.windowMs);
      this.pools.set(pool, window);
    }
    window.set(this.now(), busy, slots);
  }

  /** A pool's busy worker-time over its available worker-time in the window (0 if never reported). */
  utilization(pool: string): number {
    return this.pools.get(pool)?.ratio(this.now()) ?? 0;
  }
}
