import type { MessageInitShape } from "@bufbuild/protobuf";
import type { GenerateRequest, GenerateResponseSchema } from "@chorus/proto";
import { type CallContext, RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import type { AgentDeps } from "./agent-deps.js";
import type { LlmRequest, LlmResult } from "./llm.js";
import { LlmError } from "./llm-error.js";
import { toRpcError } from "./llm-status.js";
import { buildMessages } from "./prompt.js";
import type { Outcome } from "./replica-load.js";

/** The parts of GenerateRequest and GenerateStreamRequest a generation uses. */
export type GenerationRequest = Pick<GenerateRequest, "turnId" | "message" | "context">;

function timeoutOf(context: CallContext, limitMs: number): number {
  if (!context.deadline) return limitMs;
  const left = context.deadline.getTime() - Date.now();
  if (left <= 0) throw new RpcError(status.DEADLINE_EXCEEDED, "deadline passed before the model was called");
  return Math.min(limitMs, left);
}

/** One admitted generation: holds a worker slot until settled, then records how it ended. */
export class Generation {
  readonly started = performance.now();
  private settled = false;

  constructor(
    private readonly deps: AgentDeps,
    private readonly request: GenerationRequest,
    private readonly context: CallContext,
  ) {
    if (!deps.load.tryAcquire()) {
      throw new RpcError(
        status.RESOURCE_EXHAUSTED,
        `agent ${deps.agent.name}: all ${deps.load.workers} workers of replica ${deps.replicaId} are busy`,
      );
    }
    deps.metrics.started();
  }

  /** The model call for this generation, bounded by the caller's deadline and cancellation. */
  llmRequest(): LlmRequest {
    const { agent, llmTimeoutMs } = this.deps;
    return {
      model: agent.model,
      messages: buildMessages(agent.system_prompt, this.request.context, this.request.message),
      temperature: agent.temperature,
      seed: agent.seed,
      maxTokens: agent.max_tokens,
      signal: this.context.signal,
      timeoutMs: timeoutOf(this.context, llmTimeoutMs),
    };
  }

  /** Settles as completed and builds the answer for the caller. */
  response(result: LlmResult): MessageInitShape<typeof GenerateResponseSchema> {
    this.settle("completed", result);
    const latencyMs = performance.now() - this.started;
    const { log } = this.deps;
    if (log.isLevelEnabled("debug")) {
      const { promptTokens, completionTokens } = result;
      log.debug({ ...this.logFields(), latencyMs, promptTokens, completionTokens }, "generation completed");
    }
    return {
      text: result.text,
      promptTokens: result.promptTokens,
      completionTokens: result.completionTokens,
      model: result.model,
      latencyMs,
      replicaId: this.deps.replicaId,
    };
  }

  /** Settles as failed (or cancelled) and returns the error the caller should see. */
  failure(err: unknown): unknown {
    const outcome: Outcome = this.context.signal.aborted ? "cancelled" : "failed";
    this.settle(outcome);
    const mapped = toRpcError(err, this.deps.agent.name);
    // While the model is down the breaker logs once; a warning per failed task would flood the log.
    const modelDown = err instanceof LlmError && err.modelDown !== undefined;
    if (outcome === "failed" && !modelDown)
      this.deps.log.warn({ ...this.logFields(), err }, "generation failed");
    else if (outcome === "failed") this.deps.log.debug({ ...this.logFields(), err }, "generation failed");
    else this.deps.log.debug(this.logFields(), "generation cancelled");
    return mapped;
  }

  /** Frees the slot if nothing settled it (a stream whose consumer stopped early). */
  close(): void {
    this.settle("cancelled");
  }

  private logFields() {
    return { requestId: this.context.requestId, turnId: this.request.turnId };
  }

  private settle(outcome: Outcome, result?: LlmResult): void {
    if (this.settled) return;
    this.settled = true;
    this.deps.load.release(outcome);
    this.deps.metrics.finished(outcome, (performance.now() - this.started) / 1000, result);
  }
}
