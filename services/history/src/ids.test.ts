import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isValidId, validateId } from "./ids.js";

describe("ids", () => {
  const valid = ["a", "conv-1", "turn_2.3:x", "A".repeat(128), "550e8400-e29b-41d4-a716-446655440000"];
  const invalid = ["", "A".repeat(129), "has space", "slash/es", "ünïcode", "semi;colon", "new\nline"];

  for (const id of valid) {
    it(`accepts ${JSON.stringify(id.slice(0, 20))}`, () => {
      assert.equal(isValidId(id), true);
      assert.equal(validateId("conversation_id", id), id);
    });
  }

  for (const id of invalid) {
    it(`rejects ${JSON.stringify(id.slice(0, 20))} with INVALID_ARGUMENT naming the field`, () => {
      assert.equal(isValidId(id), false);
      assert.throws(
        () => validateId("turn.turn_id", id),
        (err: { code: number; message: string }) => err.code === 3 && err.message.startsWith("turn.turn_id: "),
      );
    });
  }
});
