import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodePageToken, encodePageToken } from "./page-token.js";

describe("page tokens", () => {
  it("round-trip a cursor through an opaque base64url string", () => {
    const cursor = { updatedAtMs: 1_700_000_000_123, conversationId: "conv-1" };
    const token = encodePageToken(cursor);
    assert.match(token, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodePageToken(token), cursor);
  });

  const malformed: Array<[string, string]> = [
    ["not base64url", "!!!"],
    ["not JSON", Buffer.from("hello").toString("base64url")],
    ["a JSON object", Buffer.from('{"u":1,"c":"x"}').toString("base64url")],
    ["a fractional time", Buffer.from('[1.5,"x"]').toString("base64url")],
    ["a bad id", Buffer.from('[1,"a b"]').toString("base64url")],
    ["an extra element", Buffer.from('[1,"x",2]').toString("base64url")],
  ];
  for (const [name, token] of malformed) {
    it(`rejects ${name}`, () => {
      assert.equal(decodePageToken(token), undefined);
    });
  }
});
