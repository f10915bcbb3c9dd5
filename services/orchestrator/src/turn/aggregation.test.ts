import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Aggregation } from "@chorus/proto";
import {
  APOLOGY,
  all,
  fastest,
  isSettled,
  judgePrompt,
  priority,
  quorum,
  type TaskOutcome,
} from "./aggregation.js";

const outcome = (agent: string, ok: boolean, finishedOrder: number): TaskOutcome => ({
  agent,
  ok,
  text: ok ? `${agent} says hi` : "",
  finishedOrder,
});

// Agent order creative, analytical, balanced; analytical finished first.
const mixed = [outcome("creative", false, 2), outcome("analytical", true, 0), outcome("balanced", true, 1)];
const allFailed = [outcome("creative", false, 0), outcome("analytical", false, 1)];

describe("aggregation", () => {
  it("priority picks the first successful answer in agent order, not the fastest", () => {
    const result = priority([outcome("creative", true, 2), outcome("analytical", true, 0)]);
    assert.deepEqual(result, { answer: "creative says hi", answeredBy: ["creative"] });
  });

  it("priority skips failed agents", () => {
    assert.deepEqual(priority(mixed).answeredBy, ["analytical"]);
  });

  it("fastest picks the earliest successful answer", () => {
    const result = fastest([
      outcome("creative", true, 2),
      outcome("analytical", true, 1),
      outcome("balanced", false, 0),
    ]);
    assert.deepEqual(result.answeredBy, ["analytical"]);
  });

  it("all labels every successful answer in agent order", () => {
    const result = all(mixed);
    assert.deepEqual(result.answeredBy, ["analytical", "balanced"]);
    assert.equal(result.answer, "[analytical]\nanalytical says hi\n\n[balanced]\nbalanced says hi");
  });

  it("quorum keeps the first k successful answers to arrive", () => {
    const outcomes = [
      outcome("creative", true, 2),
      outcome("analytical", true, 0),
      outcome("balanced", true, 1),
    ];
    assert.deepEqual(quorum(outcomes, 2).answeredBy, ["analytical", "balanced"]);
  });

  it("the judge prompt holds the question and every successful answer under its agent's name", () => {
    const prompt = judgePrompt("Why do tides happen?", mixed);
    assert.match(prompt, /Question:\nWhy do tides happen\?\n/);
    assert.ok(prompt.includes("Answer from analytical:\nanalytical says hi"), prompt);
    assert.ok(prompt.includes("Answer from balanced:\nbalanced says hi"), prompt);
    assert.ok(!prompt.includes("creative"), "a failed agent has no answer to show");
  });

  for (const [name, mode] of [
    ["priority", priority],
    ["fastest", fastest],
    ["all", all],
  ] as const) {
    it(`${name} apologises when no agent succeeded`, () => {
      assert.deepEqual(mode(allFailed), { answer: APOLOGY, answeredBy: [] });
    });
  }

  const settledCases: Array<[string, Aggregation, TaskOutcome[], number, boolean]> = [
    ["priority waits for every agent", Aggregation.PRIORITY, [outcome("a", true, 0)], 3, false],
    [
      "priority is settled when all are in",
      Aggregation.PRIORITY,
      [outcome("a", false, 0), outcome("b", true, 1)],
      2,
      true,
    ],
    ["fastest settles on the first success", Aggregation.FASTEST, [outcome("a", true, 0)], 3, true],
    ["fastest does not settle on a failure", Aggregation.FASTEST, [outcome("a", false, 0)], 3, false],
    [
      "quorum settles at k successes",
      Aggregation.QUORUM,
      [outcome("a", true, 0), outcome("b", true, 1)],
      3,
      true,
    ],
    [
      "quorum waits below k successes",
      Aggregation.QUORUM,
      [outcome("a", true, 0), outcome("b", false, 1)],
      3,
      false,
    ],
  ];
  for (const [title, mode, outcomes, total, expected] of settledCases) {
    it(title, () => assert.equal(isSettled(mode, outcomes, total, 2), expected));
  }
});
