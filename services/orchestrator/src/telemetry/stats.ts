/** Per-agent counters. */
export interface AgentCounters {
  requests: number;
  errors: number;
  succeeded: number;
  latencyMsTotal: number;
  promptTokens: number;
  completionTokens: number;
  llmCalls: number;
  cacheHits: number;
}

/** How many recent turn latencies are kept for percentiles. */
const LATENCY_WINDOW = 10_000;

/** Turn and agent statistics since start, with a bounded latency window for percentiles. */
export class Stats {
  readonly startedAt = Date.now();
  total = 0;
  succeeded = 0;
  failed = 0;
  cacheHits = 0;
  cacheMisses = 0;
  private latencySum = 0;
  private latencyCount = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = 0;
  private readonly window: number[] = [];
  private windowNext = 0;
  private firstStart: number | undefined;
  private lastFinish: number | undefined;
  readonly agents = new Map<string, AgentCounters>();

  /** Counters of `agent`, created on first use. */
  agent(name: string): AgentCounters {
    let counters = this.agents.get(name);
    if (!counters) {
      counters = {
        requests: 0,
        errors: 0,
        succeeded: 0,
        latencyMsTotal: 0,
        promptTokens: 0,
        completionTokens: 0,
        llmCalls: 0,
        cacheHits: 0,
      };
      this.agents.set(name, counters);
    }
    return counters;
  }

  /** Records a turn's admission. */
  turnStarted(at: number): void {
    this.total += 1;
    this.firstStart ??= at;
  }

  /** Records a finished turn. */
  turnFinished(ok: boolean, latencyMs: number, at: number): void {
    if (!ok) {
      this.failed += 1;
      return;
    }
    this.succeeded += 1;
    this.latencySum += latencyMs;
    this.latencyCount += 1;
    this.min = Math.min(this.min, latencyMs);
    this.max = Math.max(this.max, latencyMs);
    this.lastFinish = at;
    if (this.window.length < LATENCY_WINDOW) this.window.push(latencyMs);
    else this.window[this.windowNext] = latencyMs;
    this.windowNext = (this.windowNext + 1) % LATENCY_WINDOW;
  }

  /** Latency summary of successful turns, percentiles over the recent window. */
  latency() {
    const sorted = [...this.window].sort((a, b) => a - b);
    const at = (q: number) =>
      sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0);
    return {
      avg: this.latencyCount === 0 ? 0 : this.latencySum / this.latencyCount,
      min: this.latencyCount === 0 ? 0 : this.min,
      max: this.max,
      p50: at(0.5),
      p95: at(0.95),
      p99: at(0.99),
    };
  }

  /** Successful turns per wall-clock second between the first admission and the latest answer. */
  throughput(): number {
    if (this.firstStart === undefined || this.lastFinish === undefined) return 0;
    const seconds = (this.lastFinish - this.firstStart) / 1000;
    return seconds > 0 ? this.succeeded / seconds : 0;
  }
}
