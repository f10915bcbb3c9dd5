import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { type RunningSimulator, type SimulatorOptions, startSimulator } from "@chorus/llm-sim";
import { SpanKind, SpanStatusCode } from "@chorus/shared";
import { type MemoryTracing, startMemoryTracing } from "@chorus/shared/testing";
import type { LlmRequest } from "./llm.js";
import { OpenAiLlm } from "./openai-llm.js";

const API_KEY = "sk-model-span-test-key";
const options: SimulatorOptions = {
  host: "127.0.0.1",
  port: 0,
  ttft_ms: 0,
  ttft_std_ms: 0,
  itl_ms: 0,
  itl_std_ms: 0,
  tokens: 12,
  max_concurrent: 4,
  queue_limit: 0,
  slowdown: 0,
  failure_rate: 0,
  seed: 7,
};

const request = (): LlmRequest => ({
  model: "sim-model",
  messages: [{ role: "user", content: "What is a span?" }],
  temperature: 0.3,
  maxTokens: 100,
  signal: new AbortController().signal,
  timeoutMs: 10_000,
});

describe("model call spans, through the openai SDK against the simulator", () => {
  let tracing: MemoryTracing;
  let healthy: RunningSimulator;
  let failing: RunningSimulator;
  before(async () => {
    tracing = startMemoryTracing();
    healthy = await startSimulator(options);
    failing = await startSimulator({ ...options, failure_rate: 1 });
  });
  beforeEach(() => tracing.reset());
  after(async () => {
    await healthy.close();
    await failing.close();
    await tracing.stop();
  });

  const llmFor = (sim: RunningSimulator) =>
    new OpenAiLlm({ baseUrl: sim.url, apiKey: API_KEY, timeoutMs: 10_000 });
  const modelSpans = () => tracing.spans().filter((s) => s.name === "chat sim-model");

  it("a completion is a client span with the GenAI attributes, and its traceparent reaches the model server", async () => {
    const result = await llmFor(healthy).complete(request());
    const [span] = modelSpans();
    assert.ok(span);
    assert.equal(span.kind, SpanKind.CLIENT);
    assert.equal(span.attributes["gen_ai.operation.name"], "chat");
    assert.equal(span.attributes["gen_ai.request.model"], "sim-model");
    assert.equal(span.attributes["gen_ai.request.temperature"], 0.3);
    assert.equal(span.attributes["gen_ai.request.max_tokens"], 100);
    assert.equal(span.attributes["gen_ai.request.stream"], false);
    assert.equal(span.attributes["gen_ai.usage.input_tokens"], result.promptTokens);
    assert.equal(span.attributes["gen_ai.usage.output_tokens"], result.completionTokens);
    assert.equal(span.attributes["server.port"], healthy.port);
    const served = tracing.spans().find((s) => s.name === "POST /v1/chat/completions");
    assert.equal(served?.parentSpanContext?.spanId, span.spanContext().spanId, "the simulator continued it");
    assert.equal(served?.attributes["http.response.status_code"], 200);
    assert.ok(!JSON.stringify(tracing.spans().map((s) => s.attributes)).includes(API_KEY));
  });

  it("a streamed completion records the stream and the tokens of its last chunk", async () => {
    let done: number | undefined;
    for await (const event of llmFor(healthy).stream(request())) {
      if (event.type === "done") done = event.result.completionTokens;
    }
    const [span] = modelSpans();
    assert.equal(span?.attributes["gen_ai.request.stream"], true);
    assert.equal(span?.attributes["gen_ai.usage.output_tokens"], done);
  });

  it("a failed call's span has status ERROR and the HTTP status as error.type", async () => {
    await assert.rejects(llmFor(failing).complete(request()));
    const [span] = modelSpans();
    assert.equal(span?.status.code, SpanStatusCode.ERROR);
    assert.equal(span?.attributes["error.type"], "500");
    assert.equal(span?.attributes["gen_ai.usage.output_tokens"], undefined);
  });
});
