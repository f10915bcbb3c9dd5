import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultAgents } from "@chorus/config";
import { cacheKey } from "./cache-key.js";

const creative = defaultAgents[0] ?? assert.fail("no default agent");
const analytical = defaultAgents[1] ?? assert.fail("no second agent");

describe("cacheKey", () => {
  it("is stable for the same persona, context and message", () => {
    assert.equal(cacheKey(creative, "alice", [], "hi"), cacheKey({ ...creative }, "alice", [], "hi"));
  });

  const variants: Array<[string, () => string]> = [
    ["the persona", () => cacheKey(analytical, "alice", [], "hi")],
    ["the temperature", () => cacheKey({ ...creative, temperature: 0.1 }, "alice", [], "hi")],
    ["the model", () => cacheKey({ ...creative, model: "other" }, "alice", [], "hi")],
    ["the context", () => cacheKey(creative, "alice", [{ role: "user", content: "earlier" }], "hi")],
    ["the message", () => cacheKey(creative, "alice", [], "hello")],
    ["the asking principal", () => cacheKey(creative, "bob", [], "hi")],
  ];
  for (const [what, key] of variants) {
    it(`changes with ${what}`, () => assert.notEqual(key(), cacheKey(creative, "alice", [], "hi")));
  }

  it("is the same for every principal when the agent's cache_scope is shared", () => {
    const shared = { ...creative, cache_scope: "shared" as const };
    assert.equal(cacheKey(shared, "alice", [], "hi"), cacheKey(shared, "bob", [], "hi"));
  });
});
