/** One message of a chat prompt. */
export interface ChatMessage {
  readonly role: "system" | "user" | "assistant";
  readonly content: string;
}

/** One model call. */
export interface LlmRequest {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly temperature: number;
  /** Sampling seed, for models that honour one; undefined sends none. */
  readonly seed?: number | undefined;
  readonly maxTokens: number;
  /** Aborts the call, e.g. when the gRPC caller cancels. */
  readonly signal: AbortSignal;
  /** The whole call, streamed body included, must finish within this many milliseconds. */
  readonly timeoutMs: number;
}

/** A finished answer with the token counts the model reported. */
export interface LlmResult {
  readonly text: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly model: string;
}

/** One event of a streamed answer: more text, or the finished answer (always last). */
export type LlmEvent =
  | { readonly type: "delta"; readonly text: string }
  | { readonly type: "done"; readonly result: LlmResult };

/** The state of a model endpoint's circuit breaker, as Describe reports it. */
export interface BreakerReport {
  readonly endpoint: string;
  readonly state: "closed" | "open" | "half_open";
  readonly consecutiveFailures: number;
  /** Until an open breaker lets the next probe through; 0 when closed or half-open. */
  readonly retryInMs: number;
  /** The last counted failure's message. */
  readonly lastFailure: string;
}

/** A chat model; implementations throw LlmError for failures the caller should classify. */
export interface Llm {
  /** Generates a whole answer. */
  complete(request: LlmRequest): Promise<LlmResult>;
  /** Generates an answer as a stream of deltas followed by one done event. */
  stream(request: LlmRequest): AsyncIterable<LlmEvent>;
  /** The endpoint's circuit breaker, when this Llm has one. */
  breaker?(): BreakerReport;
}
