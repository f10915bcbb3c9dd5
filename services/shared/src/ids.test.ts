import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { validateId } from "./ids.js";

describe("validateId", () => {
  const valid = ["a", "conv-1", "turn_2.3:x", "A".repeat(128), "550e8400-e29b-41d4-a716-446655440000"];
  const invalid: Array<[string, RegExp]> = [
    ["", /: is required$/],
    ["A".repeat(129), /: must be 1 to 128/],
    ["has space", /: must be 1 to 128/],
    ["slash/es", /: must be 1 to 128/],
    ["ünïcode", /: must be 1 to 128/],
    ["new\nline", /: must be 1 to 128/],
  ];

  for (const id of valid) {
    it(`accepts ${JSON.stringify(id.slice(0, 20))}`, () => {
      assert.equal(validateId("conversation_id", id), id);
    });
  }

  for (const [id, problem] of invalid) {
    it(`rejects ${JSON.stringify(id.slice(0, 20))} with INVALID_ARGUMENT naming the field`, () => {
      assert.throws(
        () => validateId("turn.turn_id", id),
        (err: { code: number; message: string }) =>
          err.code === status.INVALID_ARGUMENT &&
          err.message.startsWith("turn.turn_id: ") &&
          problem.test(err.message),
      );
    });
  }
});
