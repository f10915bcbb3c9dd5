import { RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";

const WINDOW_MS = 60_000;

interface Window {
  readonly startMs: number;
  failures: number;
}

/**
 * Counts failed authentications per peer IP in fixed one-minute windows and refuses (RESOURCE_EXHAUSTED,
 * with a retry-after hint) a peer that reached the limit; at most `maxPeers` are tracked, oldest evicted.
 */
export class FailureLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly perMinute: number,
    private readonly clock: () => number = Date.now,
    private readonly maxPeers = 10_000,
  ) {}

  /** Throws RESOURCE_EXHAUSTED when `ip` has used up its failures for the current minute. */
  check(ip: string): void {
    const window = this.current(ip);
    if (!window || window.failures < this.perMinute) return;
    const retryS = Math.max(1, Math.ceil((window.startMs + WINDOW_MS - this.clock()) / 1000));
    throw new RpcError(
      status.RESOURCE_EXHAUSTED,
      `too many failed authentications from ${ip} (${this.perMinute} a minute); retry after ${retryS} s`,
    );
  }

  /** Counts one failed authentication from `ip`; true when that failure used up the minute's allowance. */
  fail(ip: string): boolean {
    const window = this.current(ip);
    if (window) {
      window.failures += 1;
      return window.failures === this.perMinute;
    }
    // Map order is insertion order, so the first key is the peer whose window began longest ago.
    while (this.windows.size >= this.maxPeers) {
      const oldest = this.windows.keys().next().value;
      if (oldest === undefined) break;
      this.windows.delete(oldest);
    }
    this.windows.set(ip, { startMs: this.clock(), failures: 1 });
    return this.perMinute === 1;
  }

  /** How many peers are tracked now. */
  get tracked(): number {
    return this.windows.size;
  }

  private current(ip: string): Window | undefined {
    const window = this.windows.get(ip);
    if (window && this.clock() - window.startMs >= WINDOW_MS) {
      this.windows.delete(ip);
      return undefined;
    }
    return window;
  }
}
