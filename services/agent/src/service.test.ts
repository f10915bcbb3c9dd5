import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { type Rig, rejectsWith, soon, startRig } from "./testing/test-rig.js";

describe("agent replica with a zero-latency simulator", () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({}, 0);
  });
  after(() => rig.close());

  it("generates simulated text with token counts", async () => {
    const response = await rig.client.generate(
      { turnId: "t1", message: "Describe coral reefs." },
      { deadline: soon() },
    );
    assert.match(response.text, /^\[simulated\] As a meticulous assistant/);
    assert.equal(response.completionTokens, 16);
    assert.ok(response.promptTokens > 0);
    assert.equal(response.model, "sim-model");
    assert.equal(response.replicaId, "tester-0");
  });

  it("streams deltas and then done, whose text is the deltas joined", async () => {
    const deltas: string[] = [];
    let done: { text: string; completionTokens: number } | undefined;
    for await (const response of rig.client.generateStream(
      { message: "Describe coral reefs." },
      { deadline: soon() },
    )) {
      assert.equal(done, undefined, "nothing may follow done");
      if (response.event.case === "delta") deltas.push(response.event.value);
      else if (response.event.case === "done") done = response.event.value;
    }
    assert.equal(deltas.length, 16);
    assert.equal(done?.text, deltas.join(""));
    assert.equal(done?.completionTokens, 16);
  });

  it("sends the context to the model, so the prompt grows", async () => {
    const message = "And what about their colours?";
    const bare = await rig.client.generate({ message }, { deadline: soon() });
    const withContext = await rig.client.generate(
      {
        message,
        context: [
          { role: "user", content: "Describe coral reefs." },
          {
            role: "assistant",
            content: "Coral reefs are large underwater structures built by colonies of tiny animals.",
          },
        ],
      },
      { deadline: soon() },
    );
    assert.ok(withContext.promptTokens > bare.promptTokens + 10);
  });

  const invalid: [string, { message: string; context?: { role: string; content: string }[] }, RegExp][] = [
    ["an empty message", { message: "" }, /^message: must not be empty/],
    ["a blank message", { message: "  \n" }, /^message: must not be empty/],
    [
      "a message over max_message_bytes",
      { message: "x".repeat(4097) },
      /^message: must be at most 4096 bytes/,
    ],
    [
      "a context role other than user or assistant",
      { message: "hi", context: [{ role: "system", content: "x" }] },
      /^context\[0\]\.role/,
    ],
    [
      "a 10 KB context role, quoting only its first 64 characters",
      { message: "hi", context: [{ role: "r".repeat(10_000), content: "x" }] },
      /^context\[0\]\.role: must be "user" or "assistant", not "r{64}…"$/,
    ],
    [
      "more context messages than limits.max_context_messages",
      { message: "hi", context: Array.from({ length: 9 }, () => ({ role: "user", content: "x" })) },
      /^context: has 9 messages; the limit is 8 \(limits\.max_context_messages\)$/,
    ],
    [
      "context over limits.max_context_bytes in all",
      {
        message: "hi",
        context: [
          { role: "user", content: "u".repeat(600) },
          { role: "assistant", content: "é".repeat(300) },
        ],
      },
      /^context: is 1200 bytes in all; the limit is 1024 \(limits\.max_context_bytes\)$/,
    ],
  ];
  for (const [what, request, details] of invalid) {
    it(`rejects ${what} with INVALID_ARGUMENT`, async () => {
      await assert.rejects(
        rig.client.generate(request, { deadline: soon() }),
        rejectsWith(status.INVALID_ARGUMENT, details),
      );
    });
  }

  // Far over any bound its limits allow: refused from the frame's size, never decoded or sent to the model.
  const oversized: [string, { role: string; content: string }[]][] = [
    ["20,000 context messages", Array.from({ length: 20_000 }, () => ({ role: "user", content: "x" }))],
    ["a 3 MB prompt in its context", [{ role: "user", content: "p".repeat(3 * 2 ** 20) }]],
  ];
  for (const [what, context] of oversized) {
    it(`refuses ${what} with RESOURCE_EXHAUSTED, and the model never sees it`, async () => {
      const before = rig.sim.stats().requests;
      await assert.rejects(
        rig.client.generate({ message: "hi", context }, { deadline: soon() }),
        rejectsWith(status.RESOURCE_EXHAUSTED, /larger than max|accepts at most/),
      );
      assert.equal(rig.sim.stats().requests, before);
    });
  }

  it("describes its persona, settings and counters", async () => {
    const description = await rig.client.describe({}, { deadline: soon() });
    assert.equal(description.agent, "tester");
    assert.equal(description.model, "sim-model");
    assert.equal(description.temperature, 0.5);
    assert.equal(description.maxTokens, 64);
    assert.equal(description.workers, 1);
    assert.equal(description.inFlight, 0);
    assert.equal(description.replicaId, "tester-0");
    assert.ok(description.completed >= 3n);
    assert.equal(description.failed, 0n);
    assert.ok(description.uptimeSeconds > 0);
    assert.equal(description.pid, process.pid);
    // The replica runs in this test's process, so its usage is this process's.
    assert.equal(description.usage?.pid, process.pid);
    assert.ok((description.usage?.cpuSeconds ?? 0) > 0);
    const rss = Number(description.usage?.rssBytes ?? 0n);
    assert.ok(Math.abs(rss - process.memoryUsage.rss()) < 64 * 2 ** 20, `rss ${rss}`);
  });

  it("exports generation metrics", async () => {
    const text = await (await fetch(`http://127.0.0.1:${rig.agent.metricsPort}/metrics`)).text();
    assert.match(text, /chorus_agent_generation_seconds_count\{.*outcome="completed".*\} [1-9]/);
    assert.match(text, /chorus_agent_tokens_total\{.*kind="completion".*\} [1-9]/);
    assert.match(text, /chorus_agent_in_flight\{.*\} 0/);
  });
});
