import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultAgents } from "@chorus/config";
import { cacheKey } from "./cache-key.js";

const creative = defaultAgents[0] ?? assert.fail("no default agent");
const analytical = defaultAgents[1] ?? assert.fail("no second agent");

describe("cacheKey", () => {
  it("is stable for the same persona, context and message", () => {
    assert.equal(cacheKey(creative, [], "hi"), cacheKey({ ...creative }, [], "hi"));
  });

  const variants: Array<[string, () => string]> = [
    ["the persona", () => cacheKey(analytical, [], "hi")],
    ["the temperature", () => cacheKey({ ...creative, temperature: 0.1 }, [], "hi")],
    ["the model", () => cacheKey({ ...creative, model: "other" }, [], "hi")],
    ["the context", () => cacheKey(creative, [{ role: "user", content: "earlier" }], "hi")],
    ["the message", () => cacheKey(creative, [], "hello")],
  ];
  for (const [what, key] of variants) {
    it(`changes with ${what}`, () => assert.notEqual(key(), cacheKey(creative, [], "hi")));
  }
});
