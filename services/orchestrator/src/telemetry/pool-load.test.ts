import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultAgents } from "@chorus/config";
import { Registry } from "prom-client";
import { Pool } from "../executor/pool.js";
import { trackPoolLoad } from "./pool-load.js";
import { Recorder } from "./recorder.js";

const never = new AbortController().signal;
const settled = () => new Promise((resolve) => setImmediate(resolve));

function harness() {
  const agent = { ...(defaultAgents[0] ?? assert.fail("no default agent")), workers: 2 };
  const pool = new Pool(agent, 10);
  let now = 0;
  const recorder = new Recorder(new Registry(), { windowMs: 60_000, now: () => now });
  trackPoolLoad(pool, recorder);
  const at = async (ms: number) => {
    await settled();
    now = ms;
  };
  return { pool, recorder, at };
}

describe("trackPoolLoad", () => {
  it("turns a pool's tasks into busy worker-time: one of two slots busy for half the time is 25%", async () => {
    const { pool, recorder, at } = harness();
    await at(0);
    pool.apply({ blockId: "b0", pool: pool.name, state: "RUNNING", address: "127.0.0.1:1" });
    await at(1_000);
    const block = await pool.acquire(never);
    await at(3_000);
    pool.release(block);
    await at(5_000);
    assert.equal(recorder.utilization(pool.name), (1 * 2_000) / (2 * 5_000));
    block.client?.close();
  });

  it("counts a queued task from when a new replica takes it", async () => {
    const { pool, recorder, at } = harness();
    await at(0);
    const waiting = pool.acquire(never);
    await at(1_000);
    pool.apply({ blockId: "late", pool: pool.name, state: "RUNNING", address: "127.0.0.1:2" });
    const block = await waiting;
    await at(2_000);
    pool.release(block);
    await at(2_000);
    assert.equal(recorder.utilization(pool.name), (1 * 1_000) / (2 * 1_000));
    block.client?.close();
  });

  it("counts a draining replica's running tasks as busy and its idle workers as gone", async () => {
    const { pool, recorder, at } = harness();
    await at(0);
    pool.apply({ blockId: "b0", pool: pool.name, state: "RUNNING", address: "127.0.0.1:3" });
    const block = await pool.acquire(never);
    pool.drain("b0");
    await at(4_000);
    assert.equal(recorder.utilization(pool.name), 1);
    block.client?.close();
  });
});
