import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AdmitRequest, Limits } from "./counter-store.js";
import { MemoryCounterStore } from "./memory-counter-store.js";

const limits: Limits = { concurrent_turns: 1, requests_per_minute: 2, tokens_per_minute: 10 };
const request = (key: string, windowStartMs = 0, slotTtlMs = 1000): AdmitRequest => ({
  key,
  limits,
  windowStartMs,
  slotTtlMs,
});

describe("MemoryCounterStore", () => {
  it("tracks at most maxKeys keys, forgetting the least recently used first", async () => {
    const store = new MemoryCounterStore(2, () => 0);
    for (const key of ["a", "b"]) await store.admit(request(key));
    assert.equal(
      (await store.admit(request("a"))).admitted,
      false,
      "a's turn is in flight (and a is now used last)",
    );
    await store.admit(request("c"));
    assert.equal(store.tracked, 2);
    assert.equal((await store.admit(request("a"))).admitted, false, "a is still tracked");
    assert.equal((await store.admit(request("b"))).admitted, true, "b, used least recently, was forgotten");
  });

  it("forgets a turn slot nobody released once the slot TTL passed since its counter was last touched", async () => {
    const now = { ms: 0 };
    const store = new MemoryCounterStore(10, () => now.ms);
    const first = await store.admit(request("k"));
    assert.ok(first.admitted);
    now.ms = 999;
    assert.equal((await store.admit(request("k"))).admitted, false);
    now.ms = 1000;
    assert.equal((await store.admit(request("k"))).admitted, true);
    assert.deepEqual(await store.admit(request("k")), { admitted: false, refused: "concurrent_turns" });
  });

  it("adds tokens to the current window only; tokens of a replaced window count nowhere", async () => {
    const store = new MemoryCounterStore(10, () => 0);
    await store.addTokens("k", 60_000, 9);
    await store.addTokens("k", 0, 5);
    const admitted = await store.admit(request("k", 60_000));
    assert.ok(admitted.admitted);
    await admitted.release();
    await store.addTokens("k", 60_000, 1);
    assert.deepEqual(await store.admit(request("k", 60_000)), {
      admitted: false,
      refused: "tokens_per_minute",
    });
  });
});
