import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { keywordsOf, personaOf, simulatedWords } from "./text.js";

const creative = "You are a creative assistant. Answer with imagination.";
const analytical = "You are an analytical assistant. Answer precisely.";
const question = "How do tide pools survive winter storms?";

describe("simulated text", () => {
  it("is the same for the same seed, persona and prompt", () => {
    const input = { seed: 42, systemPrompt: creative, userMessage: question };
    assert.deepEqual(simulatedWords(input, 48), simulatedWords({ ...input }, 48));
  });

  it("differs between personas and between seeds", () => {
    const base = simulatedWords({ seed: 42, systemPrompt: creative, userMessage: question }, 48).join(" ");
    const other = simulatedWords({ seed: 42, systemPrompt: analytical, userMessage: question }, 48).join(" ");
    const reseeded = simulatedWords({ seed: 7, systemPrompt: creative, userMessage: question }, 48).join(" ");
    assert.notEqual(base, other);
    assert.notEqual(base, reseeded);
  });

  it("says it is simulated and names the persona and the question's keywords", () => {
    const text = simulatedWords({ seed: 1, systemPrompt: analytical, userMessage: question }, 30).join(" ");
    assert.match(text, /^\[simulated\] As an analytical assistant/);
    assert.match(text, /tide/);
    assert.match(text, /pools/);
  });

  it("has exactly the requested number of words", () => {
    for (const count of [1, 5, 48, 300]) {
      const words = simulatedWords({ seed: 3, systemPrompt: creative, userMessage: question }, count);
      assert.equal(words.length, count);
      assert.ok(words.every((word) => word.length > 0 && !word.includes(" ")));
    }
  });

  it("falls back to a generic persona and topic", () => {
    assert.equal(personaOf("Be terse."), "assistant");
    const text = simulatedWords({ seed: 3, systemPrompt: "", userMessage: "hi" }, 12).join(" ");
    assert.match(text, /^\[simulated\] As an assistant, here is a simulated answer about your question\./);
  });
});

describe("personaOf and keywordsOf", () => {
  const personas: [string, string][] = [
    [creative, "creative"],
    [analytical, "analytical"],
    ["you are the Judge of answers", "judge"],
  ];
  for (const [prompt, persona] of personas) {
    it(`finds "${persona}" in "${prompt}"`, () => assert.equal(personaOf(prompt), persona));
  }

  it("keeps distinct content words in order, skipping short and stop words", () => {
    assert.deepEqual(keywordsOf("What about the Redis cache and the redis cluster?"), [
      "redis",
      "cache",
      "cluster",
    ]);
  });
});
