import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import type { Principal } from "@chorus/shared";
import { type RedisServer, startRedisServer } from "@chorus/shared/testing";
import { Redis } from "ioredis";
import { pino } from "pino";
import type { Limits } from "./counter-store.js";
import { LimitExceededError } from "./limit-exceeded.js";
import { PrincipalLimiter } from "./principal-limiter.js";
import { RedisCounterStore } from "./redis-counter-store.js";

const NONE: Limits = { concurrent_turns: 0, requests_per_minute: 0, tokens_per_minute: 0 };
const PREFIX = "chorus-test:";

const principal = (id: string): Principal => ({ id, roles: new Set(["user"]), via: "key", credentialId: id });

async function untilReady(store: RedisCounterStore): Promise<void> {
  for (let i = 0; i < 200 && !store.status().healthy; i += 1) await delay(25);
  assert.ok(store.status().healthy, "redis ready");
}

async function isRefused(attempt: Promise<unknown>, limit: string): Promise<boolean> {
  try {
    await attempt;
    return false;
  } catch (err) {
    assert.ok(err instanceof LimitExceededError, String(err));
    assert.equal(err.limit, limit);
    return true;
  }
}

describe("RedisCounterStore against a real redis-server", () => {
  let redis: RedisServer;
  let inspect: Redis;
  const stores: RedisCounterStore[] = [];
  const quiet = pino({ level: "silent" });

  /** One "orchestrator": its own store, its own ioredis connection, a limiter with `defaults`. */
  async function orchestrator(
    defaults: Partial<Limits>,
    turnTimeoutMs = 60_000,
    slotGraceMs = 10_000,
    log = quiet,
  ) {
    const store = new RedisCounterStore(
      { url: redis.url, keyPrefix: PREFIX, commandTimeoutMs: 500, outageLogIntervalMs: 60_000 },
      log,
    );
    stores.push(store);
    await untilReady(store);
    return {
      store,
      limiter: new PrincipalLimiter(store, {
        defaults: { ...NONE, ...defaults },
        turnTimeoutMs,
        slotGraceMs,
      }),
    };
  }

  before(async () => {
    redis = await startRedisServer();
    inspect = new Redis(redis.url);
  });
  after(async () => {
    for (const store of stores) await store.close();
    inspect.disconnect();
    await redis.stop();
  });

  it("two orchestrators sharing one Redis enforce one key's requests per minute together", async () => {
    const a = await orchestrator({ requests_per_minute: 5 });
    const b = await orchestrator({ requests_per_minute: 5 });
    const shared = principal("shared-rpm");
    for (let i = 0; i < 3; i += 1) await (await a.limiter.admit(shared))();
    for (let i = 0; i < 2; i += 1) await (await b.limiter.admit(shared))();
    assert.ok(await isRefused(a.limiter.admit(shared), "requests_per_minute"), "6th on A refused");
    assert.ok(await isRefused(b.limiter.admit(shared), "requests_per_minute"), "6th on B refused");
    await (await b.limiter.admit(principal("someone-else")))();
    assert.equal(a.store.errors + b.store.errors, 0, "counted in Redis, not in memory");
  });

  it("two orchestrators share one key's concurrent turns: a slot released on one frees the other", async () => {
    const a = await orchestrator({ concurrent_turns: 2 });
    const b = await orchestrator({ concurrent_turns: 2 });
    const shared = principal("shared-turns");
    const onA = await a.limiter.admit(shared);
    await b.limiter.admit(shared);
    assert.ok(await isRefused(a.limiter.admit(shared), "concurrent_turns"));
    await onA();
    await b.limiter.admit(shared);
    assert.ok(await isRefused(a.limiter.admit(shared), "concurrent_turns"));
  });

  it("keeps its counters under the key prefix, each with a TTL: a window's for two minutes, turns' for the slot TTL", async () => {
    const { limiter } = await orchestrator({ requests_per_minute: 9, tokens_per_minute: 9 }, 3000, 0);
    const who = principal("ttl-check");
    await limiter.admit(who);
    await limiter.record(who, 4);
    const keys = (await inspect.keys(`${PREFIX}limits:{key%3Attl-check}:*`)).sort();
    assert.equal(keys.length, 3, keys.join(", "));
    const [requests, tokens, turns] = [
      keys.find((k) => k.includes(":requests:")),
      keys.find((k) => k.includes(":tokens:")),
      keys.find((k) => k.endsWith(":turns")),
    ];
    assert.ok(requests && tokens && turns, keys.join(", "));
    assert.equal(await inspect.get(requests), "1");
    assert.equal(await inspect.get(tokens), "4");
    assert.equal(await inspect.get(turns), "1");
    for (const key of [requests, tokens]) {
      const ttl = await inspect.pttl(key);
      assert.ok(ttl > 60_000 && ttl <= 120_000, `${key} ttl ${ttl}`);
    }
    const turnsTtl = await inspect.pttl(turns);
    assert.ok(turnsTtl > 0 && turnsTtl <= 3000, `turns ttl ${turnsTtl}`);
  });

  it("a crashed orchestrator's turns in flight expire after the slot TTL, and refusals do not extend it", async () => {
    const crashed = await orchestrator({ concurrent_turns: 1 }, 1000, 0);
    const survivor = await orchestrator({ concurrent_turns: 1 }, 1000, 0);
    const who = principal("crash");
    await crashed.limiter.admit(who);
    await crashed.store.close();
    assert.ok(await isRefused(survivor.limiter.admit(who), "concurrent_turns"));
    await delay(500);
    assert.ok(await isRefused(survivor.limiter.admit(who), "concurrent_turns"));
    await delay(600);
    const release = await survivor.limiter.admit(who);
    await release();
  });

  it("with Redis stopped mid-way, answers every call from memory, still enforcing limits, and logs the outage once", async () => {
    const logLines: string[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => logLines.push(line) });
    const limits = { requests_per_minute: 3, concurrent_turns: 5, tokens_per_minute: 1000 };
    const { store, limiter } = await orchestrator(limits, 60_000, 10_000, log);
    const who = principal("outage");
    await (await limiter.admit(who))();
    await (await limiter.admit(who))();
    assert.equal(logLines.length, 0, logLines.join(""));
    await redis.stop();
    const started = Date.now();
    for (let i = 0; i < 3; i += 1) await (await limiter.admit(who))();
    assert.ok(await isRefused(limiter.admit(who), "requests_per_minute"), "memory still counts");
    await limiter.record(who, 5);
    assert.ok(Date.now() - started < 5000, "answered without waiting for Redis");
    assert.ok(store.errors >= 5, `errors ${store.errors}`);
    const warnings = logLines.filter((line) => line.includes("redis limits unavailable"));
    assert.equal(warnings.length, 1, logLines.join(""));
    for (let i = 0; i < 200 && store.status().healthy; i += 1) await delay(25);
    assert.match(store.status().detail, /limits counted per replica/);
    await redis.restart();
    await untilReady(store);
    const back = principal("after-outage");
    await (await limiter.admit(back))();
    assert.equal(await inspect.get(`${PREFIX}limits:{key%3Aafter-outage}:turns`), "0");
    assert.ok(logLines.some((line) => line.includes("redis limits reconnected")));
  });
});
