/** A circuit breaker's state: calls go through, fail at once, or one probe may try. */
export type BreakerState = "closed" | "open" | "half_open";

/** How a circuit breaker trips and recovers. */
export interface BreakerOptions {
  /** Consecutive counted failures that open the breaker; 0 never opens it. */
  readonly failures: number;
  /** How long an open breaker fails calls at once before it lets one probe through. */
  readonly cooldownMs: number;
  /** Monotonic milliseconds; tests move it by hand. */
  readonly clock?: (() => number) | undefined;
}

/** What `admit` decided: go ahead (as the one probe, when half-open), or fail at once. */
export type Admission =
  | { readonly admitted: true; readonly probe: boolean }
  | { readonly admitted: false; readonly retryInMs: number };

/**
 * How an admitted call ended, for the breaker: the endpoint `answered` (any HTTP answer below 500
 * shows it is up), `failed` (no connection, or 5xx), or `neutral` (cancelled, or timed out: says
 * nothing either way).
 */
export type CallOutcome = "answered" | "failed" | "neutral";

/**
 * Consecutive-failure circuit breaker: `failures` failures in a row open it; after `cooldownMs` it
 * is half-open and admits exactly one probe at a time; an answer closes it, a failed probe opens it
 * for another cool-down.
 */
export class CircuitBreaker {
  private opened = false;
  private openedAt = 0;
  private consecutive = 0;
  private probing = false;
  private readonly clock: () => number;

  constructor(private readonly options: BreakerOptions) {
    this.clock = options.clock ?? (() => performance.now());
  }

  /** The state now: an open breaker whose cool-down has passed is half-open. */
  get state(): BreakerState {
    if (!this.opened) return "closed";
    return this.clock() - this.openedAt >= this.options.cooldownMs ? "half_open" : "open";
  }

  /** Failures counted since the endpoint last answered. */
  get consecutiveFailures(): number {
    return this.consecutive;
  }

  /** Milliseconds until an open breaker lets a probe through; 0 when closed or half-open. */
  retryInMs(): number {
    if (!this.opened) return 0;
    return Math.max(0, this.openedAt + this.options.cooldownMs - this.clock());
  }

  /** Decides whether a call may go to the endpoint now; an admitted call must be `settle`d once. */
  admit(): Admission {
    if (!this.opened) return { admitted: true, probe: false };
    const wait = this.retryInMs();
    if (wait > 0) return { admitted: false, retryInMs: wait };
    // Half-open: one probe at a time; the others fail at once while it runs.
    if (this.probing) return { admitted: false, retryInMs: this.options.cooldownMs };
    this.probing = true;
    return { admitted: true, probe: true };
  }

  /** Records how an admitted call ended; `probe` is what `admit` said. */
  settle(probe: boolean, outcome: CallOutcome): void {
    if (probe) this.probing = false;
    if (outcome === "neutral") return;
    if (outcome === "answered") {
      this.opened = false;
      this.consecutive = 0;
      return;
    }
    this.consecutive += 1;
    if (this.opened) {
      // A failed probe opens it for another cool-down; calls admitted before it opened change nothing.
      if (probe) this.openedAt = this.clock();
      return;
    }
    if (this.options.failures > 0 && this.consecutive >= this.options.failures) {
      this.opened = true;
      this.openedAt = this.clock();
    }
  }
}
