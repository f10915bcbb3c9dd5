import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { type AgentConfig, defaultAgents } from "@chorus/config";
import { createLogger } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import {
  type FakeReplica,
  type FakeTaskHandler,
  fakeAnswer,
  startFakeReplica,
} from "../testing/fake-replica.js";
import { type AgentTaskRequest, runAgentTask } from "./agent-task.js";
import { Pool } from "./pool.js";

const log = createLogger("task-channel-test", "silent");
const never = new AbortController().signal;
const base = defaultAgents[0] ?? assert.fail("no default agent");

function request(overrides: Partial<AgentTaskRequest> = {}): AgentTaskRequest {
  return {
    turnId: "t",
    message: "hello",
    context: [],
    deadline: new Date(Date.now() + 10_000),
    signal: never,
    requestId: "r",
    maxAttempts: 3,
    ...overrides,
  };
}

/** Waits (up to 5 s) until `ready` holds. */
async function until(what: string, ready: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!ready()) {
    if (Date.now() > end) assert.fail(`${what} never happened`);
    await delay(2);
  }
}

const answerAfter =
  (ms: number): FakeTaskHandler =>
  async (_task, cancelled) => {
    await delay(ms, undefined, { signal: cancelled }).catch(() => {});
    return cancelled.aborted
      ? { case: "error", value: { code: status.CANCELLED, message: "cancelled", trailers: {} } }
      : fakeAnswer("answer");
  };

/** Answers only when cancelled, and takes 150 ms to stop. */
const slowToStop: FakeTaskHandler = (_task, cancelled) =>
  new Promise((resolve) =>
    cancelled.addEventListener("abort", () =>
      setTimeout(
        () =>
          resolve({ case: "error", value: { code: status.CANCELLED, message: "cancelled", trailers: {} } }),
        150,
      ),
    ),
  );

/** Answers only when cancelled: a straggler. */
const straggle: FakeTaskHandler = (_task, cancelled) =>
  new Promise((resolve) =>
    cancelled.addEventListener("abort", () =>
      resolve({ case: "error", value: { code: status.CANCELLED, message: "cancelled", trailers: {} } }),
    ),
  );

describe("tasks over task channels", () => {
  const replicas: FakeReplica[] = [];
  const pools: Pool[] = [];
  after(async () => {
    for (const p of pools) for (const block of p.blocks.values()) block.channel?.close();
    for (const replica of replicas) await replica.close();
  });

  async function poolOf(agent: AgentConfig, ...handlers: Array<[FakeTaskHandler, number, number?]>) {
    const pool = new Pool(agent, 64, { heartbeatMs: 1000, heartbeatTimeoutMs: 5000, log });
    pools.push(pool);
    const started: FakeReplica[] = [];
    for (const [i, [handle, workers, busyElsewhere]] of handlers.entries()) {
      const replica = await startFakeReplica(handle, workers, busyElsewhere);
      replicas.push(replica);
      started.push(replica);
      pool.apply({ blockId: `b${i}`, pool: agent.name, state: "RUNNING", address: replica.address });
    }
    while ([...pool.blocks.values()].some((b) => b.channel?.state !== "open")) await delay(5);
    return { pool, replicas: started };
  }

  it("never sends a replica more tasks than the free slots it reported; the rest wait in the pool", async () => {
    // The config says 8 workers, the replica has 3 and one is busy with a call from elsewhere: its
    // reported free slots, not the worker counts, bound what it is sent.
    const {
      pool,
      replicas: [replica],
    } = await poolOf({ ...base, workers: 8 }, [answerAfter(30), 3, 1]);
    let mostQueued = 0;
    const watch = setInterval(() => {
      mostQueued = Math.max(mostQueued, pool.queued);
    }, 2);
    const results = await Promise.all(Array.from({ length: 12 }, () => runAgentTask(pool, request())));
    clearInterval(watch);
    assert.ok(results.every((r) => r.ok && r.attempts === 1));
    assert.equal(replica?.tasks.length, 12);
    assert.equal(replica?.running.peak, 2, "never more than the replica's 2 free slots at once");
    assert.ok(mostQueued >= 8, `at most ${mostQueued} tasks waited in the pool`);
    assert.equal(pool.blocks.get("b0")?.workers, 3, "the block takes the replica's own worker count");
  });

  it("sends no new task to a replica that missed two heartbeat echoes while another is heard, and uses it again once heard", async () => {
    const pool = new Pool({ ...base, workers: 4 }, 64, { heartbeatMs: 40, heartbeatTimeoutMs: 60_000, log });
    pools.push(pool);
    const [quiet, heard] = [
      await startFakeReplica(answerAfter(1), 4),
      await startFakeReplica(answerAfter(1), 4),
    ];
    replicas.push(quiet, heard);
    pool.apply({ blockId: "quiet", pool: base.name, state: "RUNNING", address: quiet.address });
    pool.apply({ blockId: "heard", pool: base.name, state: "RUNNING", address: heard.address });
    await until("both channels open", () =>
      [...pool.blocks.values()].every((b) => b.channel?.state === "open"),
    );
    quiet.muted = true;
    const channel = pool.blocks.get("quiet")?.channel ?? assert.fail();
    await until("two heartbeats go unanswered", () => channel.silentMs > 100);
    for (let i = 0; i < 8; i += 1) assert.ok((await runAgentTask(pool, request())).ok);
    assert.equal(quiet.tasks.length, 0, "the quiet replica got a task");
    assert.equal(heard.tasks.length, 8);
    quiet.muted = false;
    await until("the replica is heard again", () => channel.silentMs < 60);
    await Promise.all(Array.from({ length: 8 }, () => runAgentTask(pool, request())));
    assert.ok(quiet.tasks.length > 0, "heard again, it gets tasks again");
  });

  it("keeps a cancelled task's slot until the replica says it ended, then gives it to the next task", async () => {
    const {
      pool,
      replicas: [replica],
    } = await poolOf({ ...base, workers: 1 }, [slowToStop, 1]);
    const stopping = new AbortController();
    const first = runAgentTask(pool, request({ signal: stopping.signal }));
    await until("the task reaches the replica", () => (replica?.tasks.length ?? 0) > 0);
    const block = pool.blocks.get("b0") ?? assert.fail();
    stopping.abort();
    const cancelled = await first;
    assert.equal(cancelled.code, status.CANCELLED);
    await until("the replica is told to stop the task", () => (replica?.cancels.length ?? 0) > 0);
    assert.deepEqual(replica?.cancels, [replica?.tasks[0]?.taskId]);
    await delay(50);
    assert.equal(block.inFlight, 1, "the slot is still taken while the replica stops the task");
    await until("the slot is given back", () => block.inFlight === 0);
    assert.equal(replica?.running.now, 0);
    // The freed slot serves the next task (which the straggler answers only when cancelled, so time it out).
    const next = await runAgentTask(pool, request({ deadline: new Date(Date.now() + 200) }));
    assert.equal(replica?.tasks.length, 2, "the next task reached the replica");
    assert.equal(next.code, status.DEADLINE_EXCEEDED);
  });

  it("fails a task over to another replica when its channel breaks", async () => {
    const { pool, replicas: started } = await poolOf(base, [straggle, 4], [answerAfter(5), 4]);
    const [doomed, healthy] = started;
    const running = runAgentTask(pool, request());
    await until("the task reaches the replica", () => (doomed?.tasks.length ?? 0) > 0);
    await doomed?.server.close(0);
    const result = await running;
    assert.equal(result.ok, true, result.error);
    assert.equal(result.replica, healthy?.address);
    assert.equal(result.attempts, 2);
  });
});

describe("hedged tasks", () => {
  const replicas: FakeReplica[] = [];
  const pools: Pool[] = [];
  after(async () => {
    for (const p of pools) for (const block of p.blocks.values()) block.channel?.close();
    for (const replica of replicas) await replica.close();
  });

  /** A straggler first (least loaded, picked first) and a fast replica, the pool's p95 at 10 ms. */
  async function stragglerPool(hedge: boolean) {
    const pool = new Pool({ ...base, hedge: { enabled: hedge, min_delay_ms: 20 } }, 64, {
      heartbeatMs: 1000,
      heartbeatTimeoutMs: 5000,
      log,
    });
    pools.push(pool);
    const straggler = await startFakeReplica(straggle);
    const fast = await startFakeReplica(answerAfter(5));
    replicas.push(straggler, fast);
    pool.apply({ blockId: "slow", pool: base.name, state: "RUNNING", address: straggler.address });
    pool.apply({ blockId: "fast", pool: base.name, state: "RUNNING", address: fast.address });
    while ([...pool.blocks.values()].some((b) => b.channel?.state !== "open")) await delay(5);
    for (let i = 0; i < 40; i += 1) pool.latency.record(10);
    return { pool, straggler, fast };
  }

  it("sends a task that outlives the pool's p95 to a second replica, takes its answer and cancels the straggler", async () => {
    const { pool, straggler, fast } = await stragglerPool(true);
    const started = performance.now();
    const result = await runAgentTask(pool, request());
    const ms = performance.now() - started;
    assert.equal(result.ok, true, result.error);
    assert.equal(result.replica, fast.address);
    assert.equal(result.hedged, true);
    assert.equal(result.hedgeWon, true);
    assert.equal(result.attempts, 2);
    assert.deepEqual(pool.hedges, { sent: 1, won: 1 }, "counted for GetStats and /metrics");
    assert.ok(ms < 1000, `answered in ${ms.toFixed(0)} ms`);
    await until("the straggler's copy is cancelled", () => straggler.cancels.length > 0);
    assert.deepEqual(straggler.cancels, [straggler.tasks[0]?.taskId]);
    const slow = pool.blocks.get("slow") ?? assert.fail();
    await until("the straggler's slot is given back", () => slow.inFlight === 0);
    assert.equal(straggler.running.now, 0, "the straggler's slot is free again");
  });

  it("is off by default: the same straggler holds its task to the deadline and nothing else runs it", async () => {
    const { pool, straggler, fast } = await stragglerPool(false);
    const result = await runAgentTask(pool, request({ deadline: new Date(Date.now() + 300) }));
    assert.equal(result.ok, false);
    assert.equal(result.code, status.DEADLINE_EXCEEDED);
    assert.equal(result.hedged, false);
    assert.equal(fast.tasks.length, 0);
    assert.deepEqual(pool.hedges, { sent: 0, won: 0 });
    assert.equal(straggler.tasks.length, 1);
  });

  it("does not hedge a task whose caller streams", async () => {
    const { pool, fast } = await stragglerPool(true);
    const result = await runAgentTask(
      pool,
      request({ deadline: new Date(Date.now() + 300), onDelta: () => {} }),
    );
    assert.equal(result.ok, false);
    assert.equal(fast.tasks.length, 0);
  });
});
