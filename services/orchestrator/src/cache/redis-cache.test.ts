import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { createLogger } from "@chorus/shared";
import { type RedisServer, startRedisServer } from "@chorus/shared/testing";
import { RedisCache } from "./redis-cache.js";

const answer = { text: "cached text", promptTokens: 3, completionTokens: 4 };

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (await check()) return;
    await delay(50);
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe("RedisCache against a real redis-server", () => {
  let redis: RedisServer;
  let cache: RedisCache;
  before(async () => {
    redis = await startRedisServer();
    cache = new RedisCache(
      {
        url: redis.url,
        keyPrefix: "test:",
        ttlSeconds: 60,
        commandTimeoutMs: 200,
        outageLogIntervalMs: 60_000,
      },
      createLogger("test", "silent"),
    );
    await eventually(async () => cache.status().healthy, "redis ready");
  });
  after(async () => {
    await cache.close();
    await redis.stop();
  });

  it("stores and returns an answer", async () => {
    await cache.set("k1", answer);
    assert.deepEqual(await cache.get("k1"), answer);
    assert.equal(await cache.get("missing"), undefined);
  });

  it("bypasses the cache during an outage, then reconnects by itself", async () => {
    await redis.stop();
    await eventually(async () => !cache.status().healthy, "outage noticed");
    const errorsBefore = cache.errors;
    assert.equal(await cache.get("k1"), undefined);
    await cache.set("k2", answer);
    assert.ok(cache.errors > errorsBefore, "outage operations are counted");
    assert.match(cache.status().detail, /bypassed/);
    await redis.restart();
    await eventually(async () => cache.status().healthy, "reconnect");
    await cache.set("k3", answer);
    assert.deepEqual(await cache.get("k3"), answer);
  });
});
