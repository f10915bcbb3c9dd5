import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { createLogger, inSpan } from "@chorus/shared";
import {
  type MemoryTracing,
  type RedisServer,
  startMemoryTracing,
  startRedisServer,
} from "@chorus/shared/testing";
import { RedisCache } from "./redis-cache.js";

describe("RedisCache spans, against a real redis-server", () => {
  let tracing: MemoryTracing;
  let redis: RedisServer;
  let cache: RedisCache;
  before(async () => {
    tracing = startMemoryTracing();
    redis = await startRedisServer();
    const options = {
      url: redis.url,
      keyPrefix: "t:",
      ttlSeconds: 60,
      commandTimeoutMs: 200,
      outageLogIntervalMs: 60_000,
    };
    cache = new RedisCache(options, createLogger("test", "silent"));
    for (let i = 0; i < 100 && !cache.status().healthy; i += 1) await delay(50);
  });
  after(async () => {
    await cache.close();
    await redis.stop();
    await tracing.stop();
  });

  it("a miss, a set and a hit are three client spans under the task that made them", async () => {
    tracing.reset();
    await inSpan("task", {}, async () => {
      assert.equal(await cache.get("k"), undefined);
      await cache.set("k", { text: "answer", promptTokens: 1, completionTokens: 2 });
      assert.equal((await cache.get("k"))?.text, "answer");
    });
    const spans = tracing.spans();
    const task = spans.find((s) => s.name === "task");
    const redisSpans = spans.filter((s) => s.name.startsWith("redis "));
    assert.deepEqual(
      redisSpans.map((s) => s.name),
      ["redis GET", "redis SET", "redis GET"],
    );
    for (const span of redisSpans) {
      assert.equal(span.parentSpanContext?.spanId, task?.spanContext().spanId);
      assert.equal(span.attributes["db.system.name"], "redis");
      assert.equal(
        JSON.stringify(span.attributes).includes(redis.url),
        false,
        "no URL (it may hold a password)",
      );
    }
    assert.deepEqual(
      redisSpans.map((s) => s.attributes["chorus.cache.hit"]),
      [false, undefined, true],
    );
  });

  it("while Redis is down a lookup's span says so, and the lookup is a miss", async () => {
    await redis.stop();
    tracing.reset();
    assert.equal(await cache.get("k"), undefined);
    const [span] = tracing.spans();
    assert.equal(span?.name, "redis GET");
    assert.equal(span?.attributes["chorus.cache.hit"], false);
    assert.equal(span?.attributes["error.type"], "redis unavailable");
    await redis.restart();
  });
});
