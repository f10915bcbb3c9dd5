import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultAgents } from "@chorus/config";
import { status } from "@grpc/grpc-js";
import { OverloadedError } from "./overloaded.js";
import { Pool } from "./pool.js";
import { recordDuration, recordHedgeLoss } from "./replica-speed.js";

function poolWith(blocks: number, workers = 2, queueLimit = 4): Pool {
  const agent = { ...(defaultAgents[0] ?? assert.fail("no default agent")), workers };
  const pool = new Pool(agent, queueLimit);
  for (let i = 0; i < blocks; i += 1) {
    pool.apply({ blockId: `b${i}`, pool: agent.name, state: "RUNNING", address: `127.0.0.1:${10000 + i}` });
  }
  return pool;
}

const never = new AbortController().signal;

describe("Pool", () => {
  it("sends each task to the least-loaded running replica", async () => {
    // Uneven loads, changed between picks, so round-robin, first-fit or random choice fail.
    const pool = poolWith(3, 8);
    const blocks = [...pool.blocks.values()];
    const loads = [5, 1, 3];
    for (const [index, block] of blocks.entries()) block.inFlight = loads[index] ?? 0;
    let seed = 7;
    for (let pick = 0; pick < 200; pick += 1) {
      const least = Math.min(...blocks.map((b) => b.inFlight));
      const before = new Map(blocks.map((b) => [b.id, b.inFlight]));
      const chosen = await pool.acquire(never);
      assert.equal(before.get(chosen.id), least, `pick ${pick}: ${chosen.id} had ${before.get(chosen.id)}`);
      // Finish a task on a pseudo-randomly chosen busy replica, so the least-loaded one moves around.
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const busy = blocks.filter((b) => b.inFlight > 0);
      const done = busy[seed % busy.length];
      if (done) pool.release(done);
    }
  });

  it("sends a replica 10× slower than its peer tasks only when the fast one holds about 9", async () => {
    const pool = poolWith(2, 32);
    const [fast, slow] = [...pool.blocks.values()];
    assert.ok(fast && slow);
    recordDuration(fast.speed, 10);
    recordDuration(slow.speed, 100);
    const picks: string[] = [];
    for (let i = 0; i < 20; i += 1) picks.push((await pool.acquire(never)).id);
    // Expected waits: fast 10 × (n + 1), slow 100 × (m + 1); the slow one ties only once fast holds 9.
    assert.equal(picks.slice(0, 9).join(","), Array(9).fill(fast.id).join(","));
    assert.ok(picks.includes(slow.id), picks.join(","));
    assert.ok(picks.filter((id) => id === slow.id).length <= 2, picks.join(","));
  });

  it("halves a replica's share each time its copy loses to a hedge", async () => {
    const pool = poolWith(2, 64);
    const [fast, slow] = [...pool.blocks.values()];
    assert.ok(fast && slow);
    recordDuration(fast.speed, 10);
    recordDuration(slow.speed, 10);
    // Lost after running 15 ms: the estimate becomes max(15, 2 × 10) = 20, then 40, then 80.
    for (let i = 0; i < 3; i += 1) recordHedgeLoss(slow.speed, 15);
    assert.equal(slow.speed.ewmaMs, 80);
    const picks: string[] = [];
    for (let i = 0; i < 9; i += 1) picks.push((await pool.acquire(never)).id);
    assert.deepEqual(picks, Array(7).fill(fast.id).concat(slow.id, fast.id));
  });

  it("tries a once-slow replica again when its verdict is old, and prices a new one like the fastest", async () => {
    const pool = poolWith(2, 8);
    const [fast, slow] = [...pool.blocks.values()];
    assert.ok(fast && slow);
    recordDuration(fast.speed, 10);
    recordDuration(slow.speed, 1000, Date.now() - 60_000);
    assert.equal((await pool.acquire(never)).id, fast.id);
    assert.equal((await pool.acquire(never)).id, slow.id, "a minute-old sample no longer keeps it out");
    pool.apply({ blockId: "new", pool: pool.name, state: "RUNNING", address: "127.0.0.1:10100" });
    assert.equal((await pool.acquire(never)).id, "new", "an unsampled replica is priced like the fastest");
  });

  it("never puts more than `workers` tasks on a replica; extra tasks queue", async () => {
    const pool = poolWith(1, 2);
    const a = await pool.acquire(never);
    await pool.acquire(never);
    let third = false;
    const waiting = pool.acquire(never).then((block) => {
      third = true;
      return block;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(third, false);
    assert.equal(pool.queued, 1);
    assert.equal(pool.outstanding, 3);
    pool.release(a);
    assert.equal((await waiting).id, a.id);
    assert.equal(a.inFlight, 2);
  });

  it("answers RESOURCE_EXHAUSTED once the queue is full", async () => {
    const pool = poolWith(1, 1, 1);
    await pool.acquire(never);
    void pool.acquire(never);
    await assert.rejects(pool.acquire(never), (err: { code: number; message: string }) => {
      assert.equal(err.code, status.RESOURCE_EXHAUSTED);
      assert.match(err.message, /queue_limit/);
      return true;
    });
  });

  it("serves queued tasks round-robin across clients, a client with nothing queued first", async () => {
    const pool = poolWith(1, 1, 16);
    const block = await pool.acquire(never, new Set(), "batch1");
    const order: string[] = [];
    const queue = (client: string, label: string) =>
      void pool.acquire(never, new Set(), client).then(() => order.push(label));
    for (const label of ["b1-1", "b1-2", "b1-3"]) queue("batch1", label);
    for (const label of ["b2-1", "b2-2"]) queue("batch2", label);
    const serveOne = async () => {
      pool.release(block);
      await new Promise((resolve) => setImmediate(resolve));
    };
    await serveOne();
    await serveOne();
    assert.deepEqual(order, ["b1-1", "b2-1"]);
    // A Chat's task arrives behind three batch tasks: it goes next, then the batches take turns again.
    queue("chat", "chat");
    for (let i = 0; i < 4; i += 1) await serveOne();
    assert.deepEqual(order, ["b1-1", "b2-1", "chat", "b1-2", "b2-2", "b1-3"]);
  });

  it("when the queue is full, sheds the newest task of the client with the most queued, with a retry hint", async () => {
    const pool = poolWith(1, 1, 2);
    await pool.acquire(never, new Set(), "batch");
    const first = pool.acquire(never, new Set(), "batch");
    const newest = pool.acquire(never, new Set(), "batch");
    const chat = pool.acquire(never, new Set(), "chat");
    await assert.rejects(newest, (err: unknown) => {
      assert.ok(err instanceof OverloadedError);
      assert.equal(err.code, status.RESOURCE_EXHAUSTED);
      assert.ok(err.retryAfterMs > 0);
      assert.match(err.message, /queue_limit/);
      return true;
    });
    assert.equal(pool.queued, 2, "the older batch task and the chat task wait");
    pool.rejectAll(new Error("done"));
    await assert.rejects(first, /done/);
    await assert.rejects(chat, /done/);
  });

  it("drops a queued task when its caller gives up", async () => {
    const pool = poolWith(1, 1);
    await pool.acquire(never);
    const controller = new AbortController();
    const waiting = pool.acquire(controller.signal);
    controller.abort(new Error("gone"));
    await assert.rejects(waiting, /gone/);
    assert.equal(pool.queued, 0);
  });

  it("sends nothing to a DRAINING replica", async () => {
    const pool = poolWith(2);
    pool.drain("b0");
    for (let i = 0; i < 2; i += 1) assert.equal((await pool.acquire(never)).id, "b1");
  });

  it("prefers a replica the task has not failed on", async () => {
    const pool = poolWith(2);
    const block = await pool.acquire(never, new Set(["b0"]));
    assert.equal(block.id, "b1");
  });

  it("serves a queued task when a new replica becomes ready", async () => {
    const pool = poolWith(0);
    const waiting = pool.acquire(never);
    pool.apply({ blockId: "late", pool: pool.name, state: "PENDING" });
    assert.equal(pool.queued, 1);
    pool.apply({ blockId: "late", pool: pool.name, state: "RUNNING", address: "127.0.0.1:9" });
    assert.equal((await waiting).id, "late");
  });

  it("forgets a replica that reached a terminal state", () => {
    const pool = poolWith(2);
    pool.apply({ blockId: "b0", pool: pool.name, state: "FAILED" });
    assert.deepEqual([...pool.blocks.keys()], ["b1"]);
    assert.equal(pool.readySlots, 2);
  });
});
