import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { sampleTurn } from "@chorus/history/testing";
import { type Principal, RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { type TurnRig, turnInput, turnRig } from "../testing/turn-rig.js";
import { runTurn } from "./turn.js";
import type { TurnDeps } from "./turn-types.js";

const code = (expected: status) => (err: unknown) => {
  assert.ok(err instanceof RpcError, String(err));
  assert.equal(err.code, expected, `${status[err.code]}: ${err.message}`);
  return true;
};

/** Tasks each fake agent of `rigs` was sent, summed over the rigs. */
const asked = (...rigs: TurnRig[]) =>
  rigs.flatMap((rig) => [...rig.agents.values()]).reduce((sum, agent) => sum + agent.requests.length, 0);

const slowAgents = (delayMs: number) => ({
  agents: { creative: { delayMs }, analytical: { delayMs }, balanced: { delayMs } },
});

describe("a turn_id sent more than once at the same time", () => {
  it("runs the agents once for concurrent requests to one orchestrator and answers each with the stored turn", async () => {
    const rig = turnRig(slowAgents(100));
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => runTurn(rig.deps, turnInput("Once only?", { turnId: "dup-1" }))),
    );
    assert.equal(asked(rig), 3, "one task per agent");
    assert.equal(rig.history.appends, 1);
    assert.equal(new Set(responses.map((r) => r.answer)).size, 1);
    assert.deepEqual(
      responses.map((r) => r.replayed),
      [false, true, true, true, true],
    );
    assert.deepEqual(
      [rig.history.prepareCalls, rig.history.claimCalls],
      [1, 0],
      "one PrepareTurn; the duplicates waited here, without asking history",
    );
  });

  it("runs the agents once for duplicates sent to two orchestrators sharing one history, its claim renewed past its lease", async () => {
    const config = { orchestrator: { turn_lease_ms: 150 } };
    const a = turnRig({ ...slowAgents(700), config });
    const b = turnRig({ ...slowAgents(700), config });
    const onB: TurnDeps = { ...b.deps, history: a.history };
    const first = runTurn(a.deps, turnInput("Across?", { turnId: "dup-2" }));
    await delay(20);
    const others = await Promise.all([
      runTurn(onB, turnInput("Across?", { turnId: "dup-2" })),
      runTurn(onB, turnInput("Across?", { turnId: "dup-2" })),
      runTurn(a.deps, turnInput("Across?", { turnId: "dup-2" })),
    ]);
    const answer = (await first).answer;
    assert.deepEqual([asked(a), asked(b)], [3, 0], "only the first orchestrator's agents were asked");
    assert.equal(a.history.appends, 1);
    assert.deepEqual(
      others.map((r) => [r.answer, r.replayed]),
      others.map(() => [answer, true]),
    );
    assert.ok(a.history.claimCalls >= 4, `claim renewed while the turn ran (${a.history.claimCalls} claims)`);
  });

  it("lets a waiting duplicate run the turn itself when the first caller cancels", async () => {
    const rig = turnRig(slowAgents(200));
    const cancel = new AbortController();
    const first = runTurn(rig.deps, turnInput("Still wanted?", { turnId: "dup-3", signal: cancel.signal }));
    await delay(20);
    const second = runTurn(rig.deps, turnInput("Still wanted?", { turnId: "dup-3" }));
    await delay(50);
    cancel.abort();
    await assert.rejects(first, code(status.CANCELLED));
    const response = await second;
    assert.equal(response.replayed, false);
    assert.equal(rig.history.appends, 1);
    assert.equal(rig.history.stored(response.conversationId ?? "").length, 1);
  });

  it("waits for another orchestrator's claim and answers with the turn it stores, asking no agent", async () => {
    const rig = turnRig();
    rig.history.claimElsewhere("dup-4", 5000);
    const waiting = runTurn(rig.deps, turnInput("Elsewhere?", { turnId: "dup-4" }));
    await delay(150);
    await rig.history.appendTurn({ turn: sampleTurn("dup-4", "conv-4"), createConversation: true });
    const response = await waiting;
    assert.deepEqual([response.replayed, response.conversationId, asked(rig)], [true, "conv-4", 0]);
  });

  it("runs the turn once a dead orchestrator's claim lapses", async () => {
    const rig = turnRig();
    rig.history.claimElsewhere("dup-5", 300);
    const started = Date.now();
    const response = await runTurn(rig.deps, turnInput("Orphaned?", { turnId: "dup-5" }));
    const waited = Date.now() - started;
    assert.ok(waited >= 280, `waited ${waited} ms for the lease`);
    assert.deepEqual([response.replayed, asked(rig), rig.history.appends], [false, 3, 1]);
  });

  it("fails DEADLINE_EXCEEDED, asking no agent, when another request's claim outlasts the deadline", async () => {
    const rig = turnRig();
    rig.history.claimElsewhere("dup-6", 5000);
    const input = turnInput("Too long?", { turnId: "dup-6", deadline: new Date(Date.now() + 300) });
    await assert.rejects(runTurn(rig.deps, input), code(status.DEADLINE_EXCEEDED));
    assert.deepEqual([asked(rig), rig.history.appends], [0, 0]);
  });

  it("releases its claim when the turn fails, so a retry goes ahead at once", async () => {
    const rig = turnRig({
      agents: { creative: { error: "down" }, analytical: { error: "down" }, balanced: { error: "down" } },
    });
    await assert.rejects(
      runTurn(rig.deps, turnInput("Fails?", { turnId: "dup-7" })),
      code(status.UNAVAILABLE),
    );
    await delay(20);
    assert.deepEqual([rig.history.releases, rig.history.liveClaims()], [1, 0]);
  });

  it("lets no request wait on another principal's turn_id", async () => {
    const rig = turnRig(slowAgents(100));
    const bob: Principal = { id: "bob", roles: new Set(["user"]), via: "key" };
    await Promise.all([
      runTurn(rig.deps, turnInput("Mine?", { turnId: "dup-8" })).catch(() => undefined),
      runTurn(rig.deps, turnInput("Mine?", { turnId: "dup-8", principal: bob })).catch(() => undefined),
    ]);
    assert.equal(asked(rig), 6, "both principals' turns ran");
  });

  it("still replays a stored turn through a history that does not know ClaimTurn", async () => {
    const rig = turnRig();
    rig.history.knowsClaims = false;
    const first = await runTurn(rig.deps, turnInput("Old history?", { turnId: "dup-9" }));
    const again = await runTurn(rig.deps, turnInput("Old history?", { turnId: "dup-9" }));
    assert.deepEqual([again.replayed, again.answer, asked(rig)], [true, first.answer, 3]);
  });
});
