import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type AgentConfig, defaultAgents } from "@chorus/config";
import { cacheKey, cachesAnswers } from "./cache-key.js";

const creative = defaultAgents[0] ?? assert.fail("no default agent");
const analytical = defaultAgents[1] ?? assert.fail("no second agent");

describe("cacheKey", () => {
  it("is stable for the same persona, context and message", () => {
    assert.equal(cacheKey(creative, "alice", [], "hi"), cacheKey({ ...creative }, "alice", [], "hi"));
  });

  const variants: Array<[string, () => string]> = [
    ["the persona", () => cacheKey(analytical, "alice", [], "hi")],
    ["the temperature", () => cacheKey({ ...creative, temperature: 0.1 }, "alice", [], "hi")],
    ["the seed", () => cacheKey({ ...creative, seed: 7 }, "alice", [], "hi")],
    ["the max tokens", () => cacheKey({ ...creative, max_tokens: 64 }, "alice", [], "hi")],
    ["the system prompt", () => cacheKey({ ...creative, system_prompt: "Be terse." }, "alice", [], "hi")],
    ["the model", () => cacheKey({ ...creative, model: "other" }, "alice", [], "hi")],
    ["the context", () => cacheKey(creative, "alice", [{ role: "user", content: "earlier" }], "hi")],
    ["the message", () => cacheKey(creative, "alice", [], "hello")],
    ["the asking principal", () => cacheKey(creative, "bob", [], "hi")],
  ];
  for (const [what, key] of variants) {
    it(`changes with ${what}`, () => assert.notEqual(key(), cacheKey(creative, "alice", [], "hi")));
  }

  it("tells seed 0 from no seed", () => {
    assert.notEqual(
      cacheKey({ ...creative, seed: 0 }, "alice", [], "hi"),
      cacheKey(creative, "alice", [], "hi"),
    );
  });

  it("is the same for every principal when the agent's cache_scope is shared", () => {
    const shared = { ...creative, cache_scope: "shared" as const };
    assert.equal(cacheKey(shared, "alice", [], "hi"), cacheKey(shared, "bob", [], "hi"));
  });
});

describe("cachesAnswers", () => {
  const table: Array<[string, Partial<AgentConfig>, boolean]> = [
    ["auto at temperature 0.8", {}, false],
    ["auto at temperature 0", { temperature: 0 }, true],
    ["auto with seed 0", { seed: 0 }, true],
    ["always", { cache_policy: "always" }, true],
    ["never at temperature 0 with a seed", { cache_policy: "never", temperature: 0, seed: 3 }, false],
  ];
  for (const [name, change, caches] of table) {
    it(`${caches ? "caches" : "does not cache"} ${name}`, () => {
      assert.equal(cachesAnswers({ ...creative, ...change }), caches);
    });
  }
});
