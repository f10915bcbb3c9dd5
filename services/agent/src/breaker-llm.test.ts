import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BreakerLlm } from "./breaker-llm.js";
import { CircuitBreaker } from "./circuit-breaker.js";
import type { Llm, LlmEvent, LlmRequest, LlmResult } from "./llm.js";
import { LlmError } from "./llm-error.js";

const ENDPOINT = "http://127.0.0.1:9/v1";
const RESULT: LlmResult = { text: "hi", promptTokens: 1, completionTokens: 1, model: "m" };
const REQUEST: LlmRequest = {
  model: "m",
  messages: [{ role: "user", content: "hello" }],
  temperature: 0,
  maxTokens: 8,
  signal: new AbortController().signal,
  timeoutMs: 1000,
};

/** An Llm whose next calls fail with the queued errors, then answer; it counts the calls it got. */
class ScriptedLlm implements Llm {
  calls = 0;
  readonly errors: Error[] = [];

  async complete(): Promise<LlmResult> {
    this.calls += 1;
    const err = this.errors.shift();
    if (err) throw err;
    return RESULT;
  }

  async *stream(): AsyncIterable<LlmEvent> {
    this.calls += 1;
    const err = this.errors.shift();
    if (err) throw err;
    yield { type: "delta", text: "hi" };
    yield { type: "done", result: RESULT };
  }
}

function rig(failures = 2) {
  const clock = { now: 0 };
  const inner = new ScriptedLlm();
  const breaker = new CircuitBreaker({ failures, cooldownMs: 500, clock: () => clock.now });
  return { clock, inner, llm: new BreakerLlm(inner, breaker, ENDPOINT) };
}

const refused = () => new LlmError("unavailable", `cannot reach the LLM at ${ENDPOINT}: ECONNREFUSED`);

describe("BreakerLlm", () => {
  const cases: Array<[string, () => Error, "open" | "closed"]> = [
    ["a refused connection", refused, "open"],
    ["an HTTP 503", () => new LlmError("unavailable", "LLM answered HTTP 503", 503), "open"],
    ["an HTTP 429", () => new LlmError("rate_limited", "LLM answered HTTP 429", 429), "closed"],
    ["an HTTP 400", () => new LlmError("rejected", "LLM answered HTTP 400", 400), "closed"],
    ["a timeout", () => new LlmError("timeout", "LLM call timed out after 1000 ms"), "closed"],
    ["a cancelled call", () => new LlmError("cancelled", "LLM call cancelled by the caller"), "closed"],
  ];
  for (const [what, error, state] of cases) {
    it(`${state === "open" ? "counts" : "does not count"} ${what}`, async () => {
      const { inner, llm } = rig();
      inner.errors.push(error(), error());
      await assert.rejects(llm.complete(REQUEST));
      await assert.rejects(llm.complete(REQUEST));
      assert.equal(llm.breaker().state, state);
    });
  }

  it("marks the failure that opened it as the model being down, naming the endpoint", async () => {
    const { inner, llm } = rig();
    inner.errors.push(refused(), refused());
    const first = await llm.complete(REQUEST).catch((err: LlmError) => err);
    assert.equal((first as LlmError).modelDown, undefined);
    const second = (await llm.complete(REQUEST).catch((err: LlmError) => err)) as LlmError;
    assert.deepEqual(second.modelDown, { endpoint: ENDPOINT, retryAfterMs: 500 });
    assert.match(second.message, /ECONNREFUSED; model endpoint http:\/\/127\.0\.0\.1:9\/v1 is down/);
  });

  it("fails at once without calling the model while open, then probes once and closes on an answer", async () => {
    const { inner, llm, clock } = rig();
    inner.errors.push(refused(), refused());
    await assert.rejects(llm.complete(REQUEST));
    await assert.rejects(llm.complete(REQUEST));
    clock.now = 300;
    const fast = (await llm.complete(REQUEST).catch((err: LlmError) => err)) as LlmError;
    assert.equal(inner.calls, 2, "the model was not called");
    assert.equal(fast.kind, "unavailable");
    assert.deepEqual(fast.modelDown, { endpoint: ENDPOINT, retryAfterMs: 200 });
    assert.match(
      fast.message,
      /^model endpoint http:\/\/127\.0\.0\.1:9\/v1 is down: circuit breaker open after 2 consecutive failures \(last: cannot reach .*ECONNREFUSED\); failing at once, next probe in 200 ms$/,
    );
    assert.deepEqual(llm.breaker(), {
      endpoint: ENDPOINT,
      state: "open",
      consecutiveFailures: 2,
      retryInMs: 200,
      lastFailure: `cannot reach the LLM at ${ENDPOINT}: ECONNREFUSED`,
    });
    clock.now = 500;
    assert.deepEqual(await llm.complete(REQUEST), RESULT);
    assert.equal(inner.calls, 3);
    assert.equal(llm.breaker().state, "closed");
  });

  it("frees the probe of a streamed call its caller cancelled, and settles a streamed probe at its first event", async () => {
    const { inner, llm, clock } = rig();
    inner.errors.push(refused(), refused(), new LlmError("cancelled", "LLM call cancelled by the caller"));
    await assert.rejects(llm.complete(REQUEST));
    await assert.rejects(llm.complete(REQUEST));
    clock.now = 500;
    await assert.rejects(async () => {
      for await (const _ of llm.stream(REQUEST)) assert.fail("no event expected");
    }, /cancelled/);
    assert.equal(llm.breaker().state, "half_open", "a cancelled probe says nothing either way");
    const events: LlmEvent[] = [];
    for await (const event of llm.stream(REQUEST)) {
      if (events.length === 0) assert.equal(llm.breaker().state, "closed", "closed before the answer ends");
      events.push(event);
    }
    assert.deepEqual(
      events.map((e) => e.type),
      ["delta", "done"],
    );
  });
});
