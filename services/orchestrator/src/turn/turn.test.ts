import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { personas, turnInput, turnRig } from "../testing/turn-rig.js";
import { runTurn } from "./turn.js";

const rejectsWith = (code: status) => (err: { code?: number }) => {
  assert.equal(
    err.code,
    code,
    `expected ${status[code]}, got ${err.code === undefined ? err : status[err.code]}`,
  );
  return true;
};

describe("runTurn", () => {
  it("asks every agent once, stores the turn once with every answer, and answers with what it stored", async () => {
    const rig = turnRig();
    const response = await runTurn(rig.deps, turnInput("What is gRPC?"));
    for (const agent of rig.agents.values()) assert.equal(agent.requests.length, 1, agent.name);
    assert.equal(rig.history.appends, 1);
    const [stored] = rig.history.stored(response.conversationId ?? "");
    assert.equal(stored?.turnId, response.turnId);
    assert.equal(stored?.answer, response.answer);
    assert.deepEqual(
      stored?.agentAnswers.map((a) => [a.agent, a.ok, a.text]),
      ["creative", "analytical", "balanced"].map((name) => [
        name,
        true,
        rig.agent(name).answerTo("What is gRPC?"),
      ]),
    );
    assert.equal(response.replayed, false);
  });

  it("replays a stored turn id without asking any agent again", async () => {
    const rig = turnRig();
    const first = await runTurn(rig.deps, turnInput("Once?", { turnId: "turn-1" }));
    const again = await runTurn(rig.deps, turnInput("Once?", { turnId: "turn-1" }));
    assert.equal(again.replayed, true);
    assert.equal(again.answer, first.answer);
    assert.equal(rig.history.appends, 1);
    for (const agent of rig.agents.values()) assert.equal(agent.requests.length, 1, agent.name);
  });

  it("sends the conversation's earlier turns to the agents as context", async () => {
    const rig = turnRig();
    const first = await runTurn(rig.deps, turnInput("My name is Ada."));
    await runTurn(rig.deps, turnInput("What is my name?", { conversationId: first.conversationId ?? "" }));
    const context = rig.agent("analytical").requests[1]?.context;
    assert.deepEqual(context, [
      { role: "user", content: "My name is Ada." },
      { role: "assistant", content: first.answer },
    ]);
    assert.equal(rig.history.stored(first.conversationId ?? "").length, 2);
  });

  it("makes one history call before the fan-out for a turn_id in an existing conversation: the claim and the context together", async () => {
    const rig = turnRig();
    const first = await runTurn(rig.deps, turnInput("My name is Ada."));
    const before = [rig.history.prepareCalls, rig.history.claimCalls, rig.history.conversationReads];
    const conversationId = first.conversationId ?? "";
    await runTurn(rig.deps, turnInput("What is my name?", { conversationId, turnId: "ctx-1" }));
    const after = [rig.history.prepareCalls, rig.history.claimCalls, rig.history.conversationReads];
    assert.deepEqual(
      after.map((n, i) => n - (before[i] ?? 0)),
      [1, 0, 0],
      "one PrepareTurn, no ClaimTurn, no GetConversation",
    );
    assert.deepEqual(rig.agent("analytical").requests[1]?.context, [
      { role: "user", content: "My name is Ada." },
      { role: "assistant", content: first.answer },
    ]);
  });

  it("claims and reads the context in two calls from a history without PrepareTurn (an older build), with the same context", async () => {
    const rig = turnRig();
    rig.history.knowsPrepare = false;
    const first = await runTurn(rig.deps, turnInput("My name is Ada."));
    const conversationId = first.conversationId ?? "";
    await runTurn(rig.deps, turnInput("What is my name?", { conversationId, turnId: "old-1" }));
    await runTurn(rig.deps, turnInput("And again?", { conversationId, turnId: "old-2" }));
    assert.deepEqual(
      [rig.history.prepareCalls, rig.history.claimCalls, rig.history.conversationReads],
      [1, 2, 2],
      "PrepareTurn asked once, then ClaimTurn and GetConversation for each turn",
    );
    assert.deepEqual(rig.agent("analytical").requests[1]?.context, [
      { role: "user", content: "My name is Ada." },
      { role: "assistant", content: first.answer },
    ]);
  });

  it("refuses a turn_id in another principal's conversation as NOT_FOUND, claiming nothing", async () => {
    const rig = turnRig();
    await assert.rejects(
      runTurn(rig.deps, turnInput("Whose?", { conversationId: "missing-1", turnId: "nf-1" })),
      rejectsWith(status.NOT_FOUND),
    );
    assert.equal(rig.history.liveClaims(), 0);
    for (const agent of rig.agents.values()) assert.equal(agent.requests.length, 0, agent.name);
  });

  it("answers with the agents that succeeded when one fails, saying which failed", async () => {
    const rig = turnRig({ agents: { creative: { error: "model down" } } });
    const response = await runTurn(rig.deps, turnInput("Still there?"));
    assert.deepEqual(response.answeredBy, ["analytical"]);
    const creative = response.agentAnswers?.find((a) => a.agent === "creative");
    assert.deepEqual([creative?.ok, creative?.error], [false, "model down"]);
  });

  it("fails with UNAVAILABLE and stores nothing when every agent fails", async () => {
    const rig = turnRig({
      agents: { creative: { error: "down" }, analytical: { error: "down" }, balanced: { error: "down" } },
    });
    await assert.rejects(runTurn(rig.deps, turnInput("Anyone?")), rejectsWith(status.UNAVAILABLE));
    assert.equal(rig.history.appends, 0);
  });

  it("retries a history write that failed UNAVAILABLE on the same connection, and one that hung on a new one", async () => {
    const rig = turnRig();
    rig.history.failAppends(status.UNAVAILABLE, status.DEADLINE_EXCEEDED);
    const response = await runTurn(rig.deps, turnInput("Saved?"));
    assert.deepEqual([rig.history.appends, rig.history.reconnects], [3, 1]);
    assert.equal(rig.history.stored(response.conversationId ?? "").length, 1);
  });

  it("does not retry a history write that was refused", async () => {
    const rig = turnRig();
    rig.history.failAppends(status.INVALID_ARGUMENT);
    await assert.rejects(runTurn(rig.deps, turnInput("Bad?")), rejectsWith(status.INVALID_ARGUMENT));
    assert.deepEqual([rig.history.appends, rig.history.reconnects], [1, 0]);
  });

  it("keeps retrying a history write until the turn's deadline, then answers UNAVAILABLE", async () => {
    const rig = turnRig();
    rig.history.failAppends(...Array<status>(100).fill(status.UNAVAILABLE));
    const started = Date.now();
    const input = turnInput("Down?", { deadline: new Date(Date.now() + 1500) });
    await assert.rejects(runTurn(rig.deps, input), rejectsWith(status.UNAVAILABLE));
    const took = Date.now() - started;
    assert.ok(took >= 1450 && took < 2000, `gave up after ${took} ms, at its 1500 ms deadline`);
    assert.ok(rig.history.appends >= 4 && rig.history.appends < 20, `${rig.history.appends} attempts, paced`);
    assert.equal(rig.history.stored("").length, 0);
  });

  it("answers a repeated question from the cache without asking the agents again", async () => {
    const rig = turnRig({ cache: true, config: { agents: personas({ cache_policy: "always" }) } });
    await runTurn(rig.deps, turnInput("Cached?"));
    const second = await runTurn(rig.deps, turnInput("Cached?"));
    assert.equal(second.cached, true);
    assert.ok(second.agentAnswers?.every((a) => a.cached && a.replica === "cache"));
    for (const agent of rig.agents.values()) assert.equal(agent.requests.length, 1, agent.name);
  });

  it("streams started, each agent's text and agentDone events before the answer", async () => {
    const rig = turnRig({ agents: { analytical: { delayMs: 20 } } });
    const events: string[] = [];
    await runTurn(
      rig.deps,
      turnInput("Stream?", { agents: ["analytical"], onEvent: (e) => events.push(e.event?.case ?? "") }),
    );
    assert.deepEqual(events, ["started", "delta", "agentDone"]);
  });
});
