/** The host's CPU load as the gate reads it: the busy fraction now, and the most it allows. */
export interface CpuLoad {
  readonly busy: () => number;
  readonly max: number;
}

const percent = (n: number) => `${Math.round(n * 100)}%`;

/**
 * How many new agent processes the host's CPUs leave room for: none while they are at least `max`
 * busy; otherwise about as many as the idle CPUs under `max` (at least one) per window, so a burst
 * of scale-outs cannot start more processes than the CPUs can feed before their load shows.
 */
export class CpuGate {
  private windowStart = Number.NEGATIVE_INFINITY;
  private launchedInWindow = 0;

  constructor(
    private readonly load: CpuLoad,
    private readonly cpus: number,
    private readonly windowMs = 3000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Processes that may start now, and what holds them back when none may. */
  room(): { readonly blocks: number; readonly limit: string } {
    const busy = this.load.busy();
    if (busy >= this.load.max) {
      return {
        blocks: 0,
        limit: `the host's CPUs are ${percent(busy)} busy (provider.local.max_cpu_busy ${percent(this.load.max)}): another agent process would not add throughput`,
      };
    }
    const perWindow = Math.max(1, Math.round(this.cpus * (this.load.max - busy)));
    const inWindow = this.clock() - this.windowStart < this.windowMs ? this.launchedInWindow : 0;
    const blocks = Math.max(0, perWindow - inWindow);
    return {
      blocks,
      limit: `the host's CPUs are ${percent(busy)} busy: at most ${perWindow} new agent processes per ${this.windowMs / 1000} s until their load shows`,
    };
  }

  /** Counts processes just started against the current window. */
  launched(count: number): void {
    const now = this.clock();
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.launchedInWindow = 0;
    }
    this.launchedInWindow += count;
  }
}
