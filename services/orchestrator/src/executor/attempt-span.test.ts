import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { defaultAgents } from "@chorus/config";
import { createLogger, inSpan } from "@chorus/shared";
import { type MemoryTracing, startMemoryTracing } from "@chorus/shared/testing";
import { status } from "@grpc/grpc-js";
import {
  type FakeReplica,
  type FakeTaskHandler,
  fakeAnswer,
  startFakeReplica,
} from "../testing/fake-replica.js";
import { type AgentTaskRequest, runAgentTask } from "./agent-task.js";
import { Pool } from "./pool.js";

const log = createLogger("attempt-span-test", "silent");
const base = defaultAgents[0] ?? assert.fail("no default agent");
const cancelled = {
  case: "error" as const,
  value: { code: status.CANCELLED, message: "cancelled", trailers: {} },
};

const request = (): AgentTaskRequest => ({
  turnId: "t",
  message: "hello",
  context: [],
  deadline: new Date(Date.now() + 10_000),
  signal: new AbortController().signal,
  requestId: "r",
  maxAttempts: 3,
});

/** Holds its task until cancelled. */
const straggle: FakeTaskHandler = (_task, stop) =>
  new Promise((resolve) => stop.addEventListener("abort", () => resolve(cancelled)));
const quick: FakeTaskHandler = async () => {
  await delay(5);
  return fakeAnswer("answer");
};
const refuse: FakeTaskHandler = async () => ({
  case: "error",
  value: { code: status.INTERNAL, message: "replica broke", trailers: {} },
});

describe("task attempt spans, over real task channels", () => {
  let tracing: MemoryTracing;
  const replicas: FakeReplica[] = [];
  const pools: Pool[] = [];
  before(() => {
    tracing = startMemoryTracing();
  });
  beforeEach(() => tracing.reset());
  after(async () => {
    for (const p of pools) for (const block of p.blocks.values()) block.channel?.close();
    for (const replica of replicas) await replica.close();
    await tracing.stop();
  });

  /** A pool of `handlers.length` replicas, the first the least loaded (picked first); p95 at 10 ms. */
  async function poolOf(hedge: boolean, ...handlers: FakeTaskHandler[]) {
    const pool = new Pool({ ...base, hedge: { enabled: hedge, min_delay_ms: 20 } }, 64, {
      heartbeatMs: 1000,
      heartbeatTimeoutMs: 5000,
      log,
    });
    pools.push(pool);
    const started: FakeReplica[] = [];
    for (const [i, handler] of handlers.entries()) {
      const replica = await startFakeReplica(handler);
      started.push(replica);
      pool.apply({ blockId: `b${i}`, pool: base.name, state: "RUNNING", address: replica.address });
    }
    replicas.push(...started);
    while ([...pool.blocks.values()].some((b) => b.channel?.state !== "open")) await delay(5);
    for (let i = 0; i < 40; i += 1) pool.latency.record(10);
    return { pool, replicas: started };
  }

  const attempts = () => tracing.spans().filter((s) => s.name === "chorus.task.attempt");

  it("a hedged attempt is one span, hedged and won, whose context both copies carried to their replicas", async () => {
    const {
      pool,
      replicas: [straggler, fast],
    } = await poolOf(true, straggle, quick);
    const result = await inSpan("task", {}, () => runAgentTask(pool, request()));
    assert.equal(result.hedged, true);
    const [span, ...more] = attempts();
    assert.ok(span);
    assert.equal(more.length, 0);
    assert.equal(span.attributes["chorus.hedged"], true);
    assert.equal(span.attributes["chorus.hedge_won"], true);
    assert.equal(span.attributes["chorus.replica"], fast?.address, "the replica that answered");
    assert.equal(span.attributes["chorus.outcome"], "ok");
    const traceparent = `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;
    assert.equal(straggler?.tasks[0]?.traceContext.traceparent, traceparent);
    assert.equal(fast?.tasks[0]?.traceContext.traceparent, traceparent);
  });

  it("a retry on another replica is a second attempt span: the first failed with the replica's status", async () => {
    const {
      pool,
      replicas: [broken, healthy],
    } = await poolOf(false, refuse, quick);
    const result = await inSpan("task", {}, () => runAgentTask(pool, request()));
    assert.equal(result.ok, true, result.error);
    const spans = attempts();
    assert.deepEqual(
      spans.map((s) => [
        s.attributes["chorus.attempt"],
        s.attributes["chorus.replica"],
        s.attributes["chorus.outcome"],
      ]),
      [
        [1, broken?.address, "failed"],
        [2, healthy?.address, "ok"],
      ],
    );
    assert.equal(spans[0]?.status.message, "replica broke");
    assert.equal(spans[0]?.attributes["error.type"], "INTERNAL");
    const task = tracing.spans().find((s) => s.name === "task");
    for (const span of spans) assert.equal(span.parentSpanContext?.spanId, task?.spanContext().spanId);
  });
});
