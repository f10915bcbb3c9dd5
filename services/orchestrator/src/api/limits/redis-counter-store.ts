import type { Logger } from "@chorus/shared";
import { Redis } from "ioredis";
import {
  type AdmitOutcome,
  type AdmitRequest,
  type CounterStore,
  LIMIT_ORDER,
  WINDOW_MS,
} from "./counter-store.js";
import { ADD_TOKENS_SCRIPT, ADMIT_SCRIPT, RELEASE_SCRIPT } from "./limit-scripts.js";
import { MemoryCounterStore } from "./memory-counter-store.js";

/** Settings of the Redis counter store. */
export interface RedisCounterStoreOptions {
  readonly url: string;
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
  readonly outageLogIntervalMs: number;
}

type Reply = Promise<number>;

/** The scripts, as ioredis's defineCommand adds them (EVALSHA, keys prefixed). */
interface LimitCommands {
  limitsAdmit(requests: string, tokens: string, turns: string, ...args: number[]): Reply;
  limitsRelease(turns: string, slotTtlMs: number): Reply;
  limitsAddTokens(tokens: string, count: number, windowTtlMs: number): Reply;
}

// Old windows are never read again; twice the window outlives any clock skew between replicas.
const WINDOW_TTL_MS = 2 * WINDOW_MS;

// Keys of one subject share a hash tag, so the multi-key scripts also work on Redis Cluster.
const keysOf = (key: string, windowStartMs: number) => {
  const base = `limits:{${encodeURIComponent(key)}}`;
  return {
    requests: `${base}:requests:${windowStartMs}`,
    tokens: `${base}:tokens:${windowStartMs}`,
    turns: `${base}:turns`,
  };
};

/**
 * Counts in Redis, shared by every orchestrator replica. While Redis is unreachable each call is
 * answered from an in-memory store instead, and the outage is logged at most once per interval.
 *
 * Why degrade instead of refusing turns: these limits share capacity fairly, they do not guard
 * access (authentication does that). Refusing every turn because the counters are away would turn a
 * Redis outage into a full Chorus outage; counting in memory keeps each replica enforcing the limits
 * on its own, so the worst case during an outage is N replicas × the limit, for its duration.
 */
export class RedisCounterStore implements CounterStore {
  private readonly redis: Redis;
  private readonly commands: LimitCommands;
  private lastOutageLog = Number.NEGATIVE_INFINITY;
  private lastError = "";
  /** Operations that failed because Redis was unreachable or slow (answered from memory). */
  errors = 0;

  constructor(
    private readonly options: RedisCounterStoreOptions,
    private readonly log: Logger,
    private readonly fallback: CounterStore = new MemoryCounterStore(),
  ) {
    this.redis = new Redis(options.url, {
      keyPrefix: options.keyPrefix,
      commandTimeout: options.commandTimeoutMs,
      // Fail fast while disconnected instead of queueing: admission must never wait for a reconnect.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 5000),
    });
    this.redis.defineCommand("limitsAdmit", { numberOfKeys: 3, lua: ADMIT_SCRIPT });
    this.redis.defineCommand("limitsRelease", { numberOfKeys: 1, lua: RELEASE_SCRIPT });
    this.redis.defineCommand("limitsAddTokens", { numberOfKeys: 1, lua: ADD_TOKENS_SCRIPT });
    this.commands = this.redis as unknown as LimitCommands;
    this.redis.on("error", (err: Error) => this.outage(err));
    this.redis.on("ready", () => {
      if (this.lastError) log.info("redis limits reconnected; counting in redis again");
      this.lastError = "";
    });
  }

  async admit(request: AdmitRequest): Promise<AdmitOutcome> {
    const { limits, slotTtlMs } = request;
    const keys = keysOf(request.key, request.windowStartMs);
    let reply: number;
    try {
      reply = await this.commands.limitsAdmit(
        keys.requests,
        keys.tokens,
        keys.turns,
        ...LIMIT_ORDER.map((name) => limits[name]),
        WINDOW_TTL_MS,
        slotTtlMs,
      );
    } catch (err) {
      this.outage(err);
      return this.fallback.admit(request);
    }
    const refused = LIMIT_ORDER[reply - 1];
    if (refused) return { admitted: false, refused };
    return { admitted: true, release: () => this.release(keys.turns, slotTtlMs) };
  }

  async addTokens(key: string, windowStartMs: number, tokens: number): Promise<void> {
    try {
      await this.commands.limitsAddTokens(keysOf(key, windowStartMs).tokens, tokens, WINDOW_TTL_MS);
    } catch (err) {
      this.outage(err);
      await this.fallback.addTokens(key, windowStartMs, tokens);
    }
  }

  /** Whether Redis is connected, for status reports. */
  status(): { healthy: boolean; detail: string } {
    const state = this.redis.status;
    return state === "ready"
      ? { healthy: true, detail: `redis ${this.options.url} ready` }
      : {
          healthy: false,
          detail: `redis ${state}: ${this.lastError || "not connected"} (limits counted per replica)`,
        };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.fallback.close();
  }

  // A slot that cannot be given back expires with the counter's TTL (bounded by the turn timeout).
  private async release(turnsKey: string, slotTtlMs: number): Promise<void> {
    try {
      await this.commands.limitsRelease(turnsKey, slotTtlMs);
    } catch (err) {
      this.outage(err);
    }
  }

  private outage(err: unknown): void {
    this.errors += 1;
    this.lastError = err instanceof Error ? err.message : String(err);
    const now = Date.now();
    if (now - this.lastOutageLog >= this.options.outageLogIntervalMs) {
      this.lastOutageLog = now;
      this.log.warn(
        { err: this.lastError, errors: this.errors },
        "redis limits unavailable; counting limits in memory on this replica",
      );
    }
  }
}
