import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { defaultAgents } from "@chorus/config";
import { createLogger, MODEL_DOWN_KEY, MODEL_FAILURE_KEY, RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { type FakeOutcome, type FakeReplica, fakeAnswer, startFakeReplica } from "../testing/fake-replica.js";
import { runAgentTask } from "./agent-task.js";
import { Pool } from "./pool.js";

const ENDPOINT = "http://127.0.0.1:9/v1";
const log = createLogger("agent-task-test", "silent");
const never = new AbortController().signal;

type Behaviour = "answer" | "model_down" | "model_failed" | "replica_failed";

const ERRORS: Record<Exclude<Behaviour, "answer">, () => RpcError> = {
  model_down: () =>
    new RpcError(status.UNAVAILABLE, `agent a: model endpoint ${ENDPOINT} is down`, {
      [MODEL_FAILURE_KEY]: "unavailable",
      [MODEL_DOWN_KEY]: ENDPOINT,
    }),
  model_failed: () =>
    new RpcError(status.UNAVAILABLE, "agent a: LLM answered HTTP 503", {
      [MODEL_FAILURE_KEY]: "unavailable",
    }),
  replica_failed: () => new RpcError(status.UNAVAILABLE, "agent a: something broke"),
};

/** The outcome a replica sends down its task channel for a task, behaving as told. */
function outcomeOf(behaviour: Behaviour): FakeOutcome {
  if (behaviour === "answer") return fakeAnswer("hi");
  const err = ERRORS[behaviour]();
  return { case: "error", value: { code: err.code, message: err.message, trailers: { ...err.trailers } } };
}

/** A replica that behaves as told on its task channel, counting the tasks it got. */
async function replica(behaviour: Behaviour): Promise<{ server: FakeReplica; calls: () => number }> {
  const server = await startFakeReplica(async () => outcomeOf(behaviour));
  return { server, calls: () => server.tasks.length };
}

describe("runAgentTask and the model's failures", () => {
  const servers: FakeReplica[] = [];
  const pools: Pool[] = [];
  after(async () => {
    for (const p of pools) for (const block of p.blocks.values()) block.channel?.close();
    for (const server of servers) await server.close();
  });

  /** A pool whose blocks are replicas behaving as listed, the first one least loaded. */
  async function pool(...behaviours: Behaviour[]) {
    const agent = { ...(defaultAgents[0] ?? assert.fail("no default agent")), workers: 4 };
    const p = new Pool(agent, 16, { heartbeatMs: 1000, heartbeatTimeoutMs: 5000, log });
    pools.push(p);
    const replicas = [];
    for (const [i, behaviour] of behaviours.entries()) {
      const r = await replica(behaviour);
      servers.push(r.server);
      replicas.push(r);
      p.apply({ blockId: `b${i}`, pool: agent.name, state: "RUNNING", address: r.server.address });
      const block = p.blocks.get(`b${i}`) ?? assert.fail();
      block.inFlight = i; // so the least-loaded pick takes them in order
    }
    // Timed tests time the task, not the channels' opening.
    while ([...p.blocks.values()].some((b) => b.channel?.state !== "open")) await delay(5);
    return { pool: p, replicas };
  }

  const run = (p: Pool) => {
    const started = performance.now();
    const request = {
      turnId: "t",
      message: "hello",
      context: [],
      deadline: new Date(Date.now() + 10_000),
      signal: never,
      requestId: "r",
      maxAttempts: 3,
    };
    return runAgentTask(p, request).then((result) => ({ result, ms: performance.now() - started }));
  };

  it("fails a task at once, on one replica only, when the agent says the model is down", async () => {
    const { pool: p, replicas } = await pool("model_down", "answer");
    const { result, ms } = await run(p);
    assert.equal(result.ok, false);
    assert.equal(result.code, status.UNAVAILABLE);
    assert.match(result.error, /model endpoint http:\/\/127\.0\.0\.1:9\/v1 is down/);
    assert.equal(result.attempts, 1, "no other replica can reach a model that is down");
    assert.equal(replicas[1]?.calls(), 0);
    assert.ok(ms < 100, `failed in ${ms.toFixed(0)} ms: no lost-replica grace for a model error`);
    assert.equal(p.model.state, "down");
    assert.match(p.model.detail, /is down/);
  });

  it("retries a model error on another replica without the lost-replica grace, and a success clears it", async () => {
    const { pool: p } = await pool("model_failed", "answer");
    const { result, ms } = await run(p);
    assert.equal(result.ok, true, result.error);
    assert.equal(result.attempts, 2);
    assert.ok(ms < 140, `answered in ${ms.toFixed(0)} ms, so the retry waited no 150 ms grace`);
    assert.equal(p.model.state, "ok");
    assert.equal(p.model.failing, false);
  });

  it("does not put a replica's own failure down to the model", async () => {
    const { pool: p } = await pool("replica_failed");
    const { result } = await run(p);
    assert.equal(result.ok, false);
    assert.equal(p.model.state, "ok");
  });
});
