import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { TurnSchema } from "@chorus/proto";
import { buildContext } from "./context.js";

const turn = (message: string, answer: string) => create(TurnSchema, { message, answer });

describe("buildContext", () => {
  const turns = [turn("one", "1"), turn("two", "2"), turn("three", "3")];

  it("keeps turns oldest first as user/assistant pairs", () => {
    assert.deepEqual(
      buildContext(turns, 10, 1000).map((m) => m.content),
      ["one", "1", "two", "2", "three", "3"],
    );
  });

  it("keeps only the newest turns when maxTurns is smaller", () => {
    assert.deepEqual(
      buildContext(turns, 2, 1000).map((m) => m.content),
      ["two", "2", "three", "3"],
    );
  });

  it("drops the oldest turns that do not fit the token budget", () => {
    const long = [turn("x".repeat(400), "y"), turn("short", "a")];
    assert.deepEqual(
      buildContext(long, 10, 10).map((m) => m.content),
      ["short", "a"],
    );
  });

  it("keeps the newest turns whose messages fit what agents accept (limits.max_context_messages)", () => {
    const limits = { max_context_messages: 5, max_context_bytes: 1000 };
    assert.deepEqual(
      buildContext(turns, 10, 1000, limits).map((m) => m.content),
      ["two", "2", "three", "3"],
    );
  });

  it("keeps the newest turns whose UTF-8 bytes fit what agents accept (limits.max_context_bytes)", () => {
    const wide = [turn("né", "1"), turn("ça", "2")];
    // "ça" + "2" is 4 bytes, "né" + "1" another 4 (é and ç are 2 bytes each): 7 holds only the newest.
    const limits = { max_context_messages: 100, max_context_bytes: 7 };
    assert.deepEqual(
      buildContext(wide, 10, 1000, limits).map((m) => m.content),
      ["ça", "2"],
    );
  });

  it("sends no context when maxTurns is 0", () => {
    assert.deepEqual(buildContext(turns, 0, 1000), []);
  });
});
