import { ChorusAttr, inSpan, SemconvAttr, SpanKind } from "@chorus/shared";
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

/** The span of one cache command: `redis GET` or `redis SET`, a client span in the turn's trace. */
function cacheSpan(operation: "GET" | "SET") {
  const attributes = { [SemconvAttr.dbSystemName]: "redis", [SemconvAttr.dbOperationName]: operation };
  return { name: `redis ${operation}`, options: { kind: SpanKind.CLIENT, attributes } };
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

  get(key: string): Promise<CachedAnswer | undefined> {
    const { name, options } = cacheSpan("GET");
    return inSpan(name, options, async (span) => {
      try {
        const value = await this.redis.get(key);
        const parsed = value === null ? undefined : (JSON.parse(value) as CachedAnswer);
        const hit = typeof parsed?.text === "string" ? parsed : undefined;
        span.setAttribute(ChorusAttr.cacheHit, hit !== undefined);
        return hit;
      } catch (err) {
        this.outage(err);
        span.setAttribute(ChorusAttr.cacheHit, false);
        span.setAttribute(SemconvAttr.errorType, "redis unavailable");
        return undefined;
      }
    });
  }

  set(key: string, answer: CachedAnswer): Promise<void> {
    const { name, options } = cacheSpan("SET");
    return inSpan(name, options, async (span) => {
      try {
        await this.redis.set(key, JSON.stringify(answer), "EX", this.options.ttlSeconds);
      } catch (err) {
        this.outage(err);
        span.setAttribute(SemconvAttr.errorType, "redis unavailable");
      }
    });
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
