/** Bounds on restarting one service. */
export interface RestartPolicy {
  /** Wait before the first restart; doubles with each crash still inside the window. */
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  /** Restarts allowed within windowMs; one more crash is a crash loop. */
  readonly maxRestarts: number;
  readonly windowMs: number;
}

/** One service's recent crashes: how long to wait before its next restart, and when it crash-loops. */
export class RestartBudget {
  private crashes: number[] = [];

  constructor(private readonly policy: RestartPolicy) {}

  /** Records a crash at nowMs; returns the wait before the restart, or undefined for a crash loop. */
  crash(nowMs: number): number | undefined {
    this.crashes = this.crashes.filter((time) => nowMs - time < this.policy.windowMs);
    this.crashes.push(nowMs);
    if (this.crashes.length > this.policy.maxRestarts) return undefined;
    const backoff = this.policy.backoffMs * 2 ** (this.crashes.length - 1);
    return Math.min(this.policy.maxBackoffMs, backoff);
  }

  /** Crashes inside the window at the last crash(). */
  get recent(): number {
    return this.crashes.length;
  }
}
