/** Bounds on replacing failed blocks. */
export interface RestartPolicy {
  /** Failures a pool may have within `windowMs` and still get replacements. */
  readonly maxRestarts: number;
  readonly windowMs: number;
  /** Wait before the first replacement; doubles with each recent failure. */
  readonly backoffMs: number;
}

/** The default policy: five replacements a minute per pool, after 250 ms, 500 ms, 1 s, ... */
export const DEFAULT_RESTART_POLICY: RestartPolicy = { maxRestarts: 5, windowMs: 60_000, backoffMs: 250 };

/** Tracks one pool's recent block failures and when it may launch again, so a crash loop ends. */
export class RestartGate {
  private failures: number[] = [];
  private openAt = 0;

  constructor(private readonly policy: RestartPolicy) {}

  private prune(nowMs: number): void {
    this.failures = this.failures.filter((time) => nowMs - time < this.policy.windowMs);
  }

  /** Records a failure; returns the backoff before a replacement, or undefined when the budget is spent. */
  record(nowMs: number): number | undefined {
    this.prune(nowMs);
    this.failures.push(nowMs);
    if (this.failures.length > this.policy.maxRestarts) return undefined;
    const backoff = Math.min(this.policy.windowMs, this.policy.backoffMs * 2 ** (this.failures.length - 1));
    this.openAt = Math.max(this.openAt, nowMs + backoff);
    return backoff;
  }

  /** True while a backoff runs: the pool must not launch blocks of its own accord. */
  waiting(nowMs: number): boolean {
    return nowMs < this.openAt;
  }

  /** Milliseconds until the backoff ends; 0 when none runs. */
  openIn(nowMs: number): number {
    return Math.max(0, this.openAt - nowMs);
  }

  /** True while the pool has failed more often than the policy allows within the window. */
  exhausted(nowMs: number): boolean {
    this.prune(nowMs);
    return this.failures.length > this.policy.maxRestarts;
  }
}
