/** Per-agent counters. */
export interface AgentCounters {
  /** Tasks begun. */
  requests: number;
  /** Tasks that failed after every attempt (not those stopped because aggregation settled). */
  errors: number;
  /** Tasks answered, from the cache or an agent. */
  succeeded: number;
  /** Latency summed over the tasks that went to an agent and ended ok or failed. */
  latencyMsTotal: number;
  /** How many tasks latencyMsTotal sums. */
  timed: number;
  promptTokens: number;
  completionTokens: number;
  /** Calls that reached a replica. */
  llmCalls: number;
  cacheHits: number;
}

/** How many recent turn latencies are kept for percentiles. */
const LATENCY_WINDOW = 10_000;

/** GetStats' counters: turns and agents since start, percentiles over the most recent turns. */
export class Stats {
  readonly startedAt = Date.now();
  total = 0;
  succeeded = 0;
  failed = 0;
  cacheHits = 0;
  cacheMisses = 0;
  private latencySum = 0;
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
        timed: 0,
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

  /** Records a finished turn; only answered ones count towards latency and throughput. */
  turnFinished(ok: boolean, latencyMs: number, at: number): void {
    if (!ok) {
      this.failed += 1;
      return;
    }
    this.succeeded += 1;
    this.latencySum += latencyMs;
    this.min = Math.min(this.min, latencyMs);
    this.max = Math.max(this.max, latencyMs);
    this.lastFinish = at;
    if (this.window.length < LATENCY_WINDOW) this.window.push(latencyMs);
    else this.window[this.windowNext] = latencyMs;
    this.windowNext = (this.windowNext + 1) % LATENCY_WINDOW;
  }

  /** Latency summary of answered turns (nearest-rank percentiles over the recent window). */
  latency() {
    const sorted = [...this.window].sort((a, b) => a - b);
    const at = (q: number) =>
      sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0);
    return {
      avg: this.succeeded === 0 ? 0 : this.latencySum / this.succeeded,
      min: this.succeeded === 0 ? 0 : this.min,
      max: this.max,
      p50: at(0.5),
      p95: at(0.95),
      p99: at(0.99),
    };
  }

  /** Answered turns per wall-clock second between the first admission and the latest answer. */
  throughput(): number {
    if (this.firstStart === undefined || this.lastFinish === undefined) return 0;
    const seconds = (this.lastFinish - this.firstStart) / 1000;
    return seconds > 0 ? this.succeeded / seconds : 0;
  }
}
