import type { Logger } from "@chorus/shared";
import { type CallOutcome, CircuitBreaker } from "./circuit-breaker.js";
import type { BreakerReport, Llm, LlmEvent, LlmRequest, LlmResult } from "./llm.js";
import { LlmError } from "./llm-error.js";

/** How an error counts for the breaker: only a failure to reach the model, or its 5xx, is one. */
function outcomeOf(err: unknown): CallOutcome {
  if (!(err instanceof LlmError)) return "neutral";
  if (err.kind === "unavailable") return "failed";
  // Any other HTTP answer (400, 404, 408, 429) shows the endpoint is up.
  return err.httpStatus !== undefined ? "answered" : "neutral";
}

/** An Llm that fails at once while its model endpoint is down: a circuit breaker around another Llm. */
export class BreakerLlm implements Llm {
  private lastFailure = "";

  constructor(
    private readonly inner: Llm,
    private readonly circuit: CircuitBreaker,
    /** The model endpoint the breaker guards (the base URL). */
    readonly endpoint: string,
    private readonly log?: Logger | undefined,
  ) {}

  async complete(request: LlmRequest): Promise<LlmResult> {
    const probe = this.admit();
    try {
      const result = await this.inner.complete(request);
      this.settle(probe, "answered");
      return result;
    } catch (err) {
      throw this.failed(probe, err);
    }
  }

  async *stream(request: LlmRequest): AsyncIterable<LlmEvent> {
    const probe = this.admit();
    let settled = false;
    try {
      for await (const event of this.inner.stream(request)) {
        // The first event shows the model answers; a probe need not hold others back for the whole answer.
        if (!settled) this.settle(probe, "answered");
        settled = true;
        yield event;
      }
    } catch (err) {
      throw settled ? err : this.failed(probe, err);
    }
  }

  /** The breaker's state, for Describe. */
  breaker(): BreakerReport {
    return {
      endpoint: this.endpoint,
      state: this.circuit.state,
      consecutiveFailures: this.circuit.consecutiveFailures,
      retryInMs: Math.ceil(this.circuit.retryInMs()),
      lastFailure: this.lastFailure,
    };
  }

  private admit(): boolean {
    const admission = this.circuit.admit();
    if (admission.admitted) return admission.probe;
    const retryAfterMs = Math.ceil(admission.retryInMs);
    throw new LlmError(
      "unavailable",
      `model endpoint ${this.endpoint} is down: circuit breaker open after ${this.circuit.consecutiveFailures} consecutive failures (last: ${this.lastFailure}); failing at once, next probe in ${retryAfterMs} ms`,
      undefined,
      { endpoint: this.endpoint, retryAfterMs },
    );
  }

  private settle(probe: boolean, outcome: CallOutcome): void {
    const before = this.circuit.state;
    this.circuit.settle(probe, outcome);
    if (before !== "closed" && this.circuit.state === "closed")
      this.log?.info({ endpoint: this.endpoint }, "model endpoint answers again: circuit breaker closed");
  }

  // Counts the failure and, once the breaker is open, marks the error so the caller knows the model is down.
  private failed(probe: boolean, err: unknown): unknown {
    const outcome = outcomeOf(err);
    if (outcome === "failed" && err instanceof Error) this.lastFailure = err.message;
    const wasOpen = this.circuit.state !== "closed";
    this.settle(probe, outcome);
    const open = this.circuit.state !== "closed";
    if (!open || !(err instanceof LlmError) || outcome !== "failed") return err;
    if (!wasOpen) {
      const { endpoint } = this;
      const failures = this.circuit.consecutiveFailures;
      this.log?.warn({ endpoint, failures, err: err.message }, "model endpoint down: circuit breaker open");
    }
    const retryAfterMs = Math.ceil(this.circuit.retryInMs());
    return new LlmError(
      err.kind,
      `${err.message}; model endpoint ${this.endpoint} is down: circuit breaker open, next probe in ${retryAfterMs} ms`,
      err.httpStatus,
      { endpoint: this.endpoint, retryAfterMs },
    );
  }
}

/** Wraps `llm` in a circuit breaker for `endpoint` (none when `failures` is 0). */
export function withBreaker(
  llm: Llm,
  endpoint: string,
  settings: { readonly failures: number; readonly cooldown_ms: number },
  log?: Logger,
): Llm {
  if (settings.failures === 0) return llm;
  return new BreakerLlm(
    llm,
    new CircuitBreaker({ failures: settings.failures, cooldownMs: settings.cooldown_ms }),
    endpoint,
    log,
  );
}
