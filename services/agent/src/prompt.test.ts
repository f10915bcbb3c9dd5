import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildMessages } from "./prompt.js";

describe("buildMessages", () => {
  it("puts the system prompt first, the context oldest first, and the new message last", () => {
    const messages = buildMessages(
      "You are a tester.",
      [
        { role: "user", content: "first question" },
        { role: "assistant", content: "first answer" },
      ],
      "second question",
    );
    assert.deepEqual(messages, [
      { role: "system", content: "You are a tester." },
      { role: "user", content: "first question" },
      { role: "assistant", content: "first answer" },
      { role: "user", content: "second question" },
    ]);
  });

  it("sends only the system prompt and the message when there is no context", () => {
    assert.equal(buildMessages("s", [], "m").length, 2);
  });
});
