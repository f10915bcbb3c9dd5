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
  ];
  for (const [what, request, details] of invalid) {
    it(`rejects ${what} with INVALID_ARGUMENT`, async () => {
      await assert.rejects(
        rig.client.generate(request, { deadline: soon() }),
        rejectsWith(status.INVALID_ARGUMENT, details),
      );
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
