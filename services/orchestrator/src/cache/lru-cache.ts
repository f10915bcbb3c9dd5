import type { Cache, CachedAnswer } from "./cache.js";

interface Entry {
  readonly answer: CachedAnswer;
  readonly expiresAt: number;
}

/** An in-process LRU cache with TTL, used when Redis is not configured. */
export class LruCache implements Cache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string): Promise<CachedAnswer | undefined> {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(key, entry);
    return entry.answer;
  }

  async set(key: string, answer: CachedAnswer): Promise<void> {
    this.entries.delete(key);
    this.entries.set(key, { answer, expiresAt: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  /** Number of entries held (expired ones included until touched). */
  get size(): number {
    return this.entries.size;
  }

  status() {
    return { healthy: true, detail: `in-process LRU, ${this.entries.size}/${this.maxEntries} entries` };
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}
