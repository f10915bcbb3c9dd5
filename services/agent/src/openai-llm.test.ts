import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type RunningSimulator, type SimulatorOptions, startSimulator } from "@chorus/llm-sim";
import type { LlmEvent, LlmRequest } from "./llm.js";
import { LlmError, type LlmFailure } from "./llm-error.js";
import { OpenAiLlm } from "./openai-llm.js";

const zero: SimulatorOptions = {
  host: "127.0.0.1",
  port: 0,
  ttft_ms: 0,
  ttft_std_ms: 0,
  itl_ms: 0,
  itl_std_ms: 0,
  tokens: 20,
  max_concurrent: 4,
  queue_limit: 0,
  slowdown: 0,
  failure_rate: 0,
  seed: 42,
};

function requestOf(overrides: Partial<LlmRequest> = {}): LlmRequest {
  return {
    model: "sim-model",
    messages: [
      { role: "system", content: "You are an analytical assistant." },
      { role: "user", content: "Why do rivers meander across flat plains?" },
    ],
    temperature: 0.3,
    maxTokens: 100,
    signal: new AbortController().signal,
    timeoutMs: 10_000,
    ...overrides,
  };
}

async function collect(events: AsyncIterable<LlmEvent>): Promise<LlmEvent[]> {
  const all: LlmEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

function failsWith(kind: LlmFailure) {
  return (err: unknown) => {
    assert.ok(err instanceof LlmError, `expected an LlmError, got ${String(err)}`);
    assert.equal(err.kind, kind);
    return true;
  };
}

async function withSim<T>(options: Partial<SimulatorOptions>, run: (sim: RunningSimulator) => Promise<T>) {
  const sim = await startSimulator({ ...zero, ...options });
  try {
    return await run(sim);
  } finally {
    await sim.close();
  }
}

describe("OpenAiLlm against llm-sim", () => {
  let sim: RunningSimulator;
  let llm: OpenAiLlm;
  before(async () => {
    sim = await startSimulator(zero);
    llm = new OpenAiLlm({ baseUrl: sim.url, apiKey: "", timeoutMs: 10_000 });
  });
  after(() => sim.close());

  it("completes with the simulated text and the reported usage", async () => {
    const result = await llm.complete(requestOf());
    assert.match(result.text, /^\[simulated\] As an analytical assistant/);
    assert.equal(result.completionTokens, 20);
    assert.ok(result.promptTokens > 0);
    assert.equal(result.model, "sim-model");
  });

  it("streams deltas then one done event whose text is their concatenation", async () => {
    const events = await collect(llm.stream(requestOf({ maxTokens: 7 })));
    const last = events.at(-1);
    assert.equal(last?.type, "done");
    const deltas = events.slice(0, -1).map((event) => (event.type === "delta" ? event.text : assert.fail()));
    assert.equal(deltas.length, 7);
    if (last?.type !== "done") return;
    assert.equal(last.result.text, deltas.join(""));
    assert.equal(last.result.completionTokens, 7);
    assert.equal(last.result.promptTokens, (await llm.complete(requestOf())).promptTokens);
  });

  it("sends the model the agent's seed when it has one, and no seed otherwise", async () => {
    const recording = await startSimulator(zero, { record: 4 });
    try {
      const seeded = new OpenAiLlm({ baseUrl: recording.url, apiKey: "", timeoutMs: 10_000 });
      await seeded.complete(requestOf({ seed: 42 }));
      await collect(seeded.stream(requestOf({ seed: 0 })));
      await seeded.complete(requestOf());
      assert.deepEqual(
        recording.received().map((r) => r.seed),
        [42, 0, undefined],
      );
    } finally {
      await recording.close();
    }
  });

  it("reports a cancelled call as cancelled", async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(llm.complete(requestOf({ signal: controller.signal })), failsWith("cancelled"));
  });
});

describe("OpenAiLlm failures", () => {
  it("classifies HTTP 500 as unavailable", () =>
    withSim({ failure_rate: 1 }, async (sim) => {
      const llm = new OpenAiLlm({ baseUrl: sim.url, apiKey: "k", timeoutMs: 10_000 });
      await assert.rejects(llm.complete(requestOf()), failsWith("unavailable"));
      await assert.rejects(collect(llm.stream(requestOf())), failsWith("unavailable"));
    }));

  it("classifies HTTP 429 as rate limited", () =>
    withSim({ max_concurrent: 1, queue_limit: 0, ttft_ms: 60_000 }, async (sim) => {
      const llm = new OpenAiLlm({ baseUrl: sim.url, apiKey: "k", timeoutMs: 10_000 });
      const controller = new AbortController();
      const holding = llm.complete(requestOf({ signal: controller.signal })).catch((err: unknown) => err);
      for (let i = 0; i < 500 && sim.stats().running === 0; i++) await new Promise((r) => setTimeout(r, 10));
      await assert.rejects(llm.complete(requestOf()), failsWith("rate_limited"));
      controller.abort();
      assert.equal(((await holding) as LlmError).kind, "cancelled");
    }));

  it("classifies a refused connection as unavailable", async () => {
    const port = await withSim({}, async (sim) => sim.port);
    const llm = new OpenAiLlm({ baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: "k", timeoutMs: 10_000 });
    await assert.rejects(llm.complete(requestOf()), failsWith("unavailable"));
  });

  it("times out a stream whose tokens come too slowly, and frees the server's sequence", () =>
    withSim({ tokens: 1000, itl_ms: 50 }, async (sim) => {
      const llm = new OpenAiLlm({ baseUrl: sim.url, apiKey: "k", timeoutMs: 10_000 });
      await assert.rejects(
        collect(llm.stream(requestOf({ maxTokens: 1000, timeoutMs: 200 }))),
        failsWith("timeout"),
      );
      for (let i = 0; i < 500 && sim.stats().running > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(sim.stats().running, 0);
      assert.equal(sim.stats().aborted, 1);
    }));

  it("times out a call that gets no answer", () =>
    withSim({ ttft_ms: 60_000 }, async (sim) => {
      const llm = new OpenAiLlm({ baseUrl: sim.url, apiKey: "k", timeoutMs: 10_000 });
      await assert.rejects(llm.complete(requestOf({ timeoutMs: 100 })), failsWith("timeout"));
    }));
});
