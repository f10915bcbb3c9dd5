import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { type RunningSimulator, startSimulator } from "./simulator.js";
import { clientOf, messages, post, zero } from "./testing/simulator-rig.js";

describe("llm-sim over HTTP", () => {
  let sim: RunningSimulator;
  before(async () => {
    sim = await startSimulator(zero);
  });
  after(() => sim.close());

  it("answers a non-streaming request with the simulated text and usage", async () => {
    const completion = await clientOf(sim).chat.completions.create({ model: "m1", messages });
    const text = completion.choices[0]?.message.content ?? "";
    assert.match(text, /^\[simulated\] As a creative assistant/);
    assert.equal(text.split(" ").length, 24);
    assert.equal(completion.choices[0]?.finish_reason, "stop");
    const chars = messages.reduce((sum, message) => sum + message.content.length, 0);
    assert.deepEqual(completion.usage, {
      prompt_tokens: Math.ceil(chars / 4),
      completion_tokens: 24,
      total_tokens: Math.ceil(chars / 4) + 24,
    });
    assert.equal(completion.model, "m1");
  });

  it("gives the same text for the same prompt and another for another persona", async () => {
    const client = clientOf(sim);
    const ask = async (system: string) =>
      (
        await client.chat.completions.create({
          model: "m",
          messages: [{ role: "system", content: system }, messages[1] ?? { role: "user", content: "" }],
        })
      ).choices[0]?.message.content;
    const first = await ask("You are a creative assistant.");
    assert.equal(await ask("You are a creative assistant."), first);
    assert.notEqual(await ask("You are an analytical assistant."), first);
  });

  it("streams a role delta, one delta per token, the finish reason, usage and [DONE]", async () => {
    const response = await post(sim, {
      model: "m",
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
    const events = (await response.text()).split("\n\n").filter((event) => event.length > 0);
    assert.ok(events.every((event) => event.startsWith("data: ")));
    assert.equal(events.at(-1), "data: [DONE]");
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event.slice(6)));
    assert.deepEqual(chunks[0].choices[0].delta, { role: "assistant", content: "" });
    const deltas = chunks.slice(1, 25).map((chunk) => chunk.choices[0].delta.content as string);
    assert.equal(deltas.length, 24);
    assert.ok(deltas.slice(1).every((delta) => delta.startsWith(" ")));
    assert.equal(chunks[25].choices[0].finish_reason, "stop");
    assert.deepEqual(chunks[26].choices, []);
    assert.equal(chunks[26].usage.completion_tokens, 24);
    assert.equal(chunks.length, 27);
  });

  it("streams through the official SDK, which decides nothing by the accept header", async () => {
    const stream = await clientOf(sim).chat.completions.create({
      model: "m",
      messages,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 10,
    });
    let text = "";
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish ??= chunk.choices[0]?.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text.split(" ").length, 10);
    assert.equal(finish, "length");
    assert.equal(usage?.completion_tokens, 10);
  });

  it("keeps no requests unless asked to record them", async () => {
    await clientOf(sim).chat.completions.create({ model: "m1", messages });
    assert.deepEqual(sim.received(), []);
  });

  it("records the latest `record` requests as the model was sent them, oldest first", async () => {
    const recording = await startSimulator(zero, { record: 2 });
    try {
      for (const question of ["one?", "two?", "three?"]) {
        const asked = [messages[0] ?? assert.fail(), { role: "user" as const, content: question }];
        const seed = question === "three?" ? 7 : undefined;
        await clientOf(recording).chat.completions.create({
          model: "m2",
          messages: asked,
          max_tokens: 5,
          seed,
        });
      }
      assert.deepEqual(
        recording.received().map((r) => [r.model, r.maxTokens, r.seed, r.messages.map((m) => m.content)]),
        [
          ["m2", 5, undefined, [messages[0]?.content, "two?"]],
          ["m2", 5, 7, [messages[0]?.content, "three?"]],
        ],
      );
    } finally {
      await recording.close();
    }
  });

  it("lists the models it has seen and answers health checks", async () => {
    const models = await clientOf(sim).models.list();
    const ids = models.data.map((model) => model.id);
    assert.ok(ids.includes("chorus-sim"));
    assert.ok(ids.includes("m1"));
    const health = await fetch(sim.url.replace(/\/v1$/, "/health"));
    assert.deepEqual(await health.json(), { status: "ok" });
  });

  const badBodies: [string, unknown, number, string][] = [
    ["invalid JSON", "{not json", 400, "invalid_json"],
    ["no messages", { model: "m" }, 400, "missing_messages"],
    ["empty messages", { messages: [] }, 400, "missing_messages"],
    ["a bad max_tokens", { messages, max_tokens: -1 }, 400, "invalid_value"],
    [
      "a body over 1 MiB",
      { messages: [{ role: "user", content: "x".repeat(1024 * 1024) }] },
      413,
      "body_too_large",
    ],
  ];
  for (const [what, body, status, code] of badBodies) {
    it(`rejects ${what} with ${status} and an OpenAI-style error`, async () => {
      const response = await post(sim, body);
      assert.equal(response.status, status);
      const error = ((await response.json()) as { error: { message: string; type: string; code: string } })
        .error;
      assert.equal(error.code, code);
      assert.equal(error.type, "invalid_request_error");
      assert.ok(error.message.length > 0);
    });
  }

  it("surfaces a bad request as the SDK's BadRequestError", async () => {
    await assert.rejects(
      clientOf(sim).chat.completions.create({ model: "m", messages: [] }),
      (err: unknown) => err instanceof OpenAI.BadRequestError,
    );
  });
});
