import OpenAI from "openai";
import type { LlmRequest } from "./llm.js";
import { LlmError } from "./llm-error.js";

/** One model call's abort plumbing: the caller's signal plus a timer covering the streamed body too. */
export class CallScope {
  readonly controller = new AbortController();
  timedOut = false;
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort = () => this.controller.abort(this.request.signal.reason);

  constructor(private readonly request: LlmRequest) {
    // The SDK's own timeout stops at the response headers; a stream needs a timer of its own.
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new Error("LLM call timed out"));
    }, request.timeoutMs);
    if (request.signal.aborted) this.onAbort();
    else request.signal.addEventListener("abort", this.onAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The error for a call that ended because it was aborted. */
  abortError(): LlmError {
    return this.timedOut
      ? new LlmError("timeout", `LLM call timed out after ${this.request.timeoutMs} ms`)
      : new LlmError("cancelled", "LLM call cancelled by the caller");
  }

  /** Classifies anything the SDK threw. */
  classify(err: unknown, baseUrl: string): LlmError {
    if (err instanceof LlmError) return err;
    if (this.signal.aborted) return this.abortError();
    if (err instanceof OpenAI.APIConnectionTimeoutError) {
      return new LlmError("timeout", `LLM call timed out after ${this.request.timeoutMs} ms`);
    }
    if (err instanceof OpenAI.APIConnectionError) {
      return new LlmError("unavailable", `cannot reach the LLM at ${baseUrl}: ${err.message}`);
    }
    if (err instanceof OpenAI.APIError && err.status !== undefined) {
      const detail = `LLM answered HTTP ${err.status}: ${err.message}`;
      if (err.status === 429) return new LlmError("rate_limited", detail, err.status);
      if (err.status === 408) return new LlmError("timeout", detail, err.status);
      if (err.status >= 500) return new LlmError("unavailable", detail, err.status);
      return new LlmError("rejected", detail, err.status);
    }
    // Anything else is the connection or the stream breaking mid-way: worth a retry elsewhere.
    return new LlmError(
      "unavailable",
      `LLM call failed: ${err instanceof Error ? err.message : String(err)}`,
    );
  }

  /** Stops the timer; `abort` also ends a call still running (a stream its consumer left early). */
  dispose(abort: boolean): void {
    clearTimeout(this.timer);
    this.request.signal.removeEventListener("abort", this.onAbort);
    if (abort) this.controller.abort();
  }
}
