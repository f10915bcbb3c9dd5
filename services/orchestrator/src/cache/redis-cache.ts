import { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Cache, CachedAnswer } from "./cache.js";

/** Settings of the Redis cache. */
export interface RedisCacheOptions {
  readonly url: string;
  readonly keyPrefix: string;
  readonly ttlSeconds: number;
  readonly commandTimeoutMs: number;
  readonly outageLogIntervalMs: number;
}

/** A Redis-backed cache that bypasses itself during an outage and reconnects by itself. */
export class RedisCache implements Cache {
  private readonly redis: Redis;
  private lastOutageLog = 0;
  private lastError = "";
  /** Cache operations that failed because Redis was unreachable or slow. */
  errors = 0;

  constructor(
    private readonly options: RedisCacheOptions,
    private readonly log: Logger,
  ) {
    this.redis = new Redis(options.url, {
      keyPrefix: options.keyPrefix,
      commandTimeout: options.commandTimeoutMs,
      // Fail fast while disconnected instead of queueing: a turn must never wait on the cache.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 5000),
      lazyConnect: false,
    });
    this.redis.on("error", (err: Error) => this.outage(err));
    this.redis.on("ready", () => {
      if (this.lastError) log.info("redis cache reconnected");
      this.lastError = "";
    });
  }

  private outage(err: unknown): void {
    this.errors += 1;
    this.lastError = err instanceof Error ? err.message : String(err);
    const now = Date.now();
    if (now - this.lastOutageLog >= this.options.outageLogIntervalMs) {
      this.lastOutageLog = now;
      this.log.warn({ err: this.lastError, errors: this.errors }, "redis cache unavailable; bypassing cache");
    }
  }

  async get(key: string): Promise<CachedAnswer | undefined> {
    try {
      const value = await this.redis.get(key);
      if (value === null) return undefined;
      const parsed = JSON.parse(value) as CachedAnswer;
      return typeof parsed.text === "string" ? parsed : undefined;
    } catch (err) {
      this.outage(err);
      return undefined;
    }
  }

  async set(key: string, answer: CachedAnswer): Promise<void> {
    try {
      await this.redis.set(key, JSON.stringify(answer), "EX", this.options.ttlSeconds);
    } catch (err) {
      this.outage(err);
    }
  }

  status() {
    const state = this.redis.status;
    return state === "ready"
      ? { healthy: true, detail: `redis ${this.options.url} ready` }
      : { healthy: false, detail: `redis ${state}: ${this.lastError || "not connected"} (cache bypassed)` };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
