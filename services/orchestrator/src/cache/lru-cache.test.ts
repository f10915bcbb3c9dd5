import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LruCache } from "./lru-cache.js";

const answer = (text: string) => ({ text, promptTokens: 1, completionTokens: 2 });

describe("LruCache", () => {
  it("returns what was stored", async () => {
    const cache = new LruCache(10, 1000);
    await cache.set("k", answer("v"));
    assert.deepEqual(await cache.get("k"), answer("v"));
  });

  it("evicts the least recently used entry beyond max entries", async () => {
    const cache = new LruCache(2, 1000);
    await cache.set("a", answer("a"));
    await cache.set("b", answer("b"));
    await cache.get("a");
    await cache.set("c", answer("c"));
    assert.equal(await cache.get("b"), undefined);
    assert.deepEqual(await cache.get("a"), answer("a"));
    assert.equal(cache.size, 2);
  });

  it("expires entries after the TTL", async () => {
    let now = 0;
    const cache = new LruCache(10, 1000, () => now);
    await cache.set("k", answer("v"));
    now = 999;
    assert.ok(await cache.get("k"));
    now = 2000;
    assert.equal(await cache.get("k"), undefined);
  });
});
