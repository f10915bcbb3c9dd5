import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TITLE_MAX_CHARS, titleOf } from "./title.js";

describe("titleOf", () => {
  it("keeps a short message, with whitespace collapsed", () => {
    assert.equal(titleOf("  What is\n\ta  monad? "), "What is a monad?");
  });

  it("cuts a long message at a word boundary and marks the cut", () => {
    const title = titleOf("word ".repeat(40));
    assert.ok(Array.from(title).length <= TITLE_MAX_CHARS);
    assert.match(title, /^(word )*word…$/);
  });

  it("cuts a message without spaces mid-word rather than dropping it", () => {
    const title = titleOf("x".repeat(200));
    assert.equal(title, `${"x".repeat(TITLE_MAX_CHARS - 1)}…`);
  });

  it("never splits a character made of a surrogate pair", () => {
    const title = titleOf("😀".repeat(100));
    assert.equal(title, `${"😀".repeat(TITLE_MAX_CHARS - 1)}…`);
    assert.doesNotMatch(title, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});
