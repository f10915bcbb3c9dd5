import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { SpanStatusCode } from "@chorus/shared";
import { type MemoryTracing, startMemoryTracing } from "@chorus/shared/testing";
import { turnInput, turnRig } from "../testing/turn-rig.js";
import { runTurn } from "./turn.js";

describe("turn and task spans", () => {
  let tracing: MemoryTracing;
  before(() => {
    tracing = startMemoryTracing();
  });
  beforeEach(() => tracing.reset());
  after(() => tracing.stop());

  const named = (name: string) => tracing.spans().filter((s) => s.name === name);

  it("a turn where one agent fails: the turn is fine, that agent's task span is failed with its error", async () => {
    const rig = turnRig({ agents: { creative: { error: "model down" } } });
    const response = await runTurn(rig.deps, turnInput("Still there?"));
    const [turn] = named("chorus.turn");
    assert.equal(turn?.status.code, SpanStatusCode.UNSET);
    assert.deepEqual(turn?.attributes["chorus.answered_by"], response.answeredBy);
    const tasks = new Map(named("chorus.task").map((s) => [s.attributes["chorus.pool"], s]));
    assert.equal(tasks.size, 3);
    assert.equal(tasks.get("creative")?.attributes["chorus.outcome"], "failed");
    assert.equal(tasks.get("creative")?.status.code, SpanStatusCode.ERROR);
    assert.equal(tasks.get("creative")?.status.message, "model down");
    assert.equal(tasks.get("analytical")?.attributes["chorus.outcome"], "ok");
    for (const task of tasks.values())
      assert.equal(task.parentSpanContext?.spanId, turn?.spanContext().spanId);
  });

  it("a turn no agent could answer ends its span with status ERROR", async () => {
    const rig = turnRig({
      agents: { creative: { error: "down" }, analytical: { error: "down" }, balanced: { error: "down" } },
    });
    await assert.rejects(runTurn(rig.deps, turnInput("Anyone?")));
    const [turn] = named("chorus.turn");
    assert.equal(turn?.status.code, SpanStatusCode.ERROR);
    assert.match(turn?.status.message ?? "", /no agent could answer/);
    assert.equal(turn?.attributes["error.type"], "UNAVAILABLE");
  });
});
