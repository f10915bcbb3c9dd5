import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { reconcile, type TurnOutcome } from "./turn-load.js";

const turn = (turnId: string, ok: boolean, answer = ""): TurnOutcome => ({
  turnId,
  ok,
  code: ok ? 0 : 14,
  error: ok ? "" : "unavailable",
  sentAt: 0,
  endedAt: 1,
  attempts: 1,
  replayed: false,
  answer,
});

describe("reconcile", () => {
  const outcomes = [turn("a", true, "A"), turn("b", true, "B"), turn("c", false), turn("d", true, "D")];

  it("finds lost, duplicated, stored-but-failed, unknown and differing turns from the stored answers", () => {
    const stored = new Map([
      ["a", ["A"]],
      ["b", ["B", "B"]],
      ["c", ["C"]],
      ["d", ["not D"]],
      ["x", ["X"]],
    ]);
    const result = reconcile(outcomes, stored);
    assert.equal(result.ok, 3);
    assert.deepEqual(
      result.failed.map((o) => o.turnId),
      ["c"],
    );
    assert.deepEqual(result.lost, []);
    assert.deepEqual(result.duplicated, ["b"]);
    assert.deepEqual(result.storedButFailed, ["c"]);
    assert.deepEqual(result.unknown, ["x"]);
    assert.deepEqual(result.mismatched, ["d"]);
  });

  it("takes counts alone too, and then compares no answers", () => {
    const result = reconcile(
      outcomes,
      new Map([
        ["a", 1],
        ["d", 1],
      ]),
    );
    assert.deepEqual(result.lost, ["b"]);
    assert.deepEqual(result.mismatched, []);
  });
});
