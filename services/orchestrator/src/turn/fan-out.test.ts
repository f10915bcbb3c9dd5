import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Aggregation } from "@chorus/proto";
import { turnInput, turnRig } from "../testing/turn-rig.js";
import { runTurn } from "./turn.js";

// Creative is first in agent order but the slowest; analytical finishes first, balanced second.
const slowCreative = {
  creative: { delayMs: 400 },
  analytical: { delayMs: 5 },
  balanced: { delayMs: 60 },
};

describe("fan-out and aggregation in a turn", () => {
  it("priority answers with the first agent in agent order, even when it finished last", async () => {
    const rig = turnRig({ agents: slowCreative });
    const response = await runTurn(rig.deps, turnInput("Why is the sky blue?"));
    assert.deepEqual(response.answeredBy, ["creative"]);
    assert.equal(response.answer, rig.agent("creative").answerTo("Why is the sky blue?"));
  });

  it("fastest answers with the agent that finished first, and stops the others", async () => {
    const rig = turnRig({ agents: slowCreative });
    const response = await runTurn(
      rig.deps,
      turnInput("Why is the sky blue?", { aggregation: Aggregation.FASTEST }),
    );
    assert.deepEqual(response.answeredBy, ["analytical"]);
    assert.equal(response.answer, rig.agent("analytical").answerTo("Why is the sky blue?"));
    assert.equal(rig.agent("creative").stopped, 1, "the slow agent's task was stopped");
    assert.equal(rig.agent("balanced").stopped, 1);
  });

  it("quorum answers with the first quorum_size agents to finish, not the first in agent order", async () => {
    const rig = turnRig({ agents: slowCreative, config: { orchestrator: { quorum_size: 2 } } });
    const response = await runTurn(rig.deps, turnInput("Tides?", { aggregation: Aggregation.QUORUM }));
    assert.deepEqual(response.answeredBy, ["analytical", "balanced"]);
    const analytical = rig.agent("analytical").answerTo("Tides?");
    const balanced = rig.agent("balanced").answerTo("Tides?");
    assert.equal(response.answer, `[analytical]\n${analytical}\n\n[balanced]\n${balanced}`);
    const creative = response.agentAnswers?.find((a) => a.agent === "creative");
    assert.equal(creative?.ok, false);
    assert.match(creative?.error ?? "", /not awaited: quorum/);
    assert.equal(rig.agent("creative").stopped, 1);
  });

  it("judge shows the judge agent the question and every other agent's answer, and answers with its text", async () => {
    const rig = turnRig({
      agents: { ...slowCreative, analytical: { delayMs: 5, error: "model down" } },
      config: { orchestrator: { judge_agent: "balanced" } },
    });
    const response = await runTurn(rig.deps, turnInput("Tides?", { aggregation: Aggregation.JUDGE }));
    const judge = rig.agent("balanced");
    assert.equal(judge.requests.length, 2, "balanced answered once as an agent and once as the judge");
    const prompt = judge.requests[1]?.message ?? "";
    assert.match(prompt, /Question:\nTides\?/);
    assert.ok(prompt.includes(`Answer from creative:\n${rig.agent("creative").answerTo("Tides?")}`), prompt);
    assert.ok(prompt.includes(`Answer from balanced:\n${judge.answerTo("Tides?")}`), prompt);
    assert.ok(!prompt.includes("analytical"), "a failed agent has no answer to judge");
    assert.deepEqual(response.answeredBy, ["balanced"]);
    assert.equal(response.answer, judge.answerTo(prompt));
  });

  it("judge falls back to priority when the judge agent fails", async () => {
    const rig = turnRig({
      agents: { balanced: { error: "judge down" } },
      config: { orchestrator: { judge_agent: "balanced" } },
    });
    const response = await runTurn(rig.deps, turnInput("Tides?", { aggregation: Aggregation.JUDGE }));
    assert.deepEqual(response.answeredBy, ["creative"]);
  });

  it("all answers with every successful agent, labelled, in agent order", async () => {
    const rig = turnRig({ agents: { ...slowCreative, balanced: { error: "down" } } });
    const response = await runTurn(rig.deps, turnInput("Tides?", { aggregation: Aggregation.ALL }));
    assert.deepEqual(response.answeredBy, ["creative", "analytical"]);
    const creative = rig.agent("creative").answerTo("Tides?");
    const analytical = rig.agent("analytical").answerTo("Tides?");
    assert.equal(response.answer, `[creative]\n${creative}\n\n[analytical]\n${analytical}`);
  });
});
