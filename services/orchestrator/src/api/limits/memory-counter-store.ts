import { type AdmitOutcome, type AdmitRequest, type CounterStore, reachedLimit } from "./counter-store.js";

interface Entry {
  windowStartMs: number;
  requests: number;
  tokens: number;
  turns: number;
  /** When a turn slot was last taken or given back; slots untouched for slotTtlMs are forgotten. */
  turnsTouchedMs: number;
}

/**
 * Counts in this process only (no Redis, or Redis unreachable), with the Redis store's semantics; at
 * most `maxKeys` keys are tracked, the least recently used forgotten first.
 */
export class MemoryCounterStore implements CounterStore {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxKeys = 10_000,
    private readonly clock: () => number = Date.now,
  ) {}

  async admit(request: AdmitRequest): Promise<AdmitOutcome> {
    const { key, limits, slotTtlMs } = request;
    const entry = this.touch(key, request.windowStartMs);
    const now = this.clock();
    // The same expiry Redis applies to the in-flight counter (PEXPIRE refreshed on take and release).
    if (now - entry.turnsTouchedMs >= slotTtlMs) entry.turns = 0;
    const refused = reachedLimit(limits, {
      concurrent_turns: entry.turns,
      requests_per_minute: entry.requests,
      tokens_per_minute: entry.tokens,
    });
    if (refused) return { admitted: false, refused };
    entry.requests += 1;
    entry.turns += 1;
    entry.turnsTouchedMs = now;
    return { admitted: true, release: async () => this.release(key, slotTtlMs) };
  }

  async addTokens(key: string, windowStartMs: number, tokens: number): Promise<void> {
    const entry = this.touch(key, windowStartMs);
    // Tokens of a window already replaced would count nowhere that is still read.
    if (entry.windowStartMs === windowStartMs) entry.tokens += tokens;
  }

  async close(): Promise<void> {
    this.entries.clear();
  }

  /** How many keys are tracked now. */
  get tracked(): number {
    return this.entries.size;
  }

  private release(key: string, slotTtlMs: number): void {
    const entry = this.entries.get(key);
    if (!entry || entry.turns === 0) return;
    const now = this.clock();
    if (now - entry.turnsTouchedMs >= slotTtlMs) entry.turns = 0;
    else entry.turns -= 1;
    entry.turnsTouchedMs = now;
  }

  // Returns the key's entry, rolled into `windowStartMs` when that is newer, as the most recently used.
  private touch(key: string, windowStartMs: number): Entry {
    let entry = this.entries.get(key);
    if (entry) this.entries.delete(key);
    else {
      // Map order is insertion order and every touch re-inserts, so the first key is the least recently used.
      while (this.entries.size >= this.maxKeys) {
        const oldest = this.entries.keys().next().value;
        if (oldest === undefined) break;
        this.entries.delete(oldest);
      }
      entry = { windowStartMs, requests: 0, tokens: 0, turns: 0, turnsTouchedMs: this.clock() };
    }
    if (windowStartMs > entry.windowStartMs) {
      entry.windowStartMs = windowStartMs;
      entry.requests = 0;
      entry.tokens = 0;
    }
    this.entries.set(key, entry);
    return entry;
  }
}
