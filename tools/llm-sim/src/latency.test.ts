import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LatencyModel } from "./latency.js";
import { mulberry32 } from "./prng.js";

const knobs = { ttft_ms: 100, ttft_std_ms: 0, itl_ms: 10, itl_std_ms: 0, slowdown: 0.5 };

describe("LatencyModel", () => {
  it("is exactly zero for zero knobs, without drawing random numbers", () => {
    const model = new LatencyModel(
      { ttft_ms: 0, ttft_std_ms: 0, itl_ms: 0, itl_std_ms: 0, slowdown: 2 },
      () => assert.fail("drew a random number"),
      () => 1,
    );
    assert.equal(model.firstToken(), 0);
    assert.equal(model.nextToken(), 0);
  });

  it("slows down in proportion to the load", () => {
    let load = 0;
    const model = new LatencyModel(knobs, mulberry32(1), () => load);
    assert.equal(model.firstToken(), 100);
    load = 1;
    assert.equal(model.firstToken(), 150);
    assert.equal(model.nextToken(), 15);
  });

  it("never samples a negative delay", () => {
    const model = new LatencyModel({ ...knobs, ttft_ms: 1, ttft_std_ms: 50 }, mulberry32(9), () => 0);
    for (let i = 0; i < 1000; i++) assert.ok(model.firstToken() >= 0);
  });
});
