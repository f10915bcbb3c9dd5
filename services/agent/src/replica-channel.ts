import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  ChannelErrorSchema,
  ChannelTask,
  GenerateResponseSchema,
  TaskChannelRequest,
} from "@chorus/proto";
import {
  type CallContext,
  ChorusAttr,
  extractHeaders,
  failSpan,
  inSpan,
  RpcError,
  type Span,
  SpanKind,
  setAttributes,
  toServiceError,
} from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import type { AgentDeps } from "./agent-deps.js";
import { ChannelOutbox, type ChannelStamp } from "./channel-outbox.js";
import { Generation } from "./generation.js";
import { validate } from "./validate.js";

type ChannelError = MessageInitShape<typeof ChannelErrorSchema>;
type Answer = MessageInitShape<typeof GenerateResponseSchema>;

const EMPTY_REQUEST = { turnId: "", message: "", context: [] };

/** A task's error as the channel carries it: what Generate would have ended with, trailers included. */
function channelError(err: unknown, deps: AgentDeps): ChannelError {
  const mapped = toServiceError(err, deps.log, "TaskChannel");
  const trailers: Record<string, string> = {};
  for (const [key, value] of Object.entries(mapped.metadata?.getMap() ?? {})) {
    if (typeof value === "string") trailers[key] = value;
  }
  return { code: mapped.code ?? status.INTERNAL, message: mapped.details ?? "", trailers };
}

/**
 * The replica's end of one task channel: runs the orchestrator's tasks in this replica's worker
 * slots, streams a task's text only when the orchestrator asked for it, echoes heartbeats, and
 * stamps every message with its free slots and the tasks received so far (the orchestrator's credits).
 */
export class ReplicaChannel {
  readonly outbox: ChannelOutbox;
  private readonly running = new Map<number, AbortController>();
  private received = 0;
  private lastFree = 0;
  private closing = false;
  private inputDone = false;
  private stopped = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly deps: AgentDeps,
    private readonly context: CallContext,
  ) {
    this.outbox = new ChannelOutbox(() => this.stamp());
    this.outbox.ready(deps.load.workers, deps.replicaId);
    this.unsubscribe = deps.load.onRelease(() => this.released());
    context.signal.addEventListener("abort", () => this.stop(), { once: true });
  }

  /** Reads the orchestrator's messages until it stops sending; a malformed one ends the channel with its status. */
  async read(requests: AsyncIterable<TaskChannelRequest>): Promise<void> {
    try {
      for await (const request of requests) {
        const { kind } = request;
        if (kind.case === "task") this.start(kind.value);
        else if (kind.case === "cancel")
          this.running.get(kind.value.taskId)?.abort(new Error("task cancelled by the orchestrator"));
        else if (kind.case === "heartbeat") this.outbox.heartbeat(kind.value.sequence);
      }
      this.inputDone = true;
      this.endWhenIdle();
    } catch (err) {
      if (!this.context.signal.aborted) this.outbox.fail(err);
      this.stop();
    }
  }

  /** Refuses new tasks (UNAVAILABLE) and ends the channel once its running tasks have finished. */
  close(): void {
    this.closing = true;
    this.endWhenIdle();
  }

  /** Stops every running task and ends the channel now. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe();
    for (const controller of this.running.values()) controller.abort(new Error("task channel closed"));
    this.outbox.end();
  }

  private stamp(): ChannelStamp {
    const freeSlots = Math.max(0, this.deps.load.free);
    this.lastFree = freeSlots;
    return { freeSlots, tasksReceived: this.received >>> 0 };
  }

  // A slot freed outside this channel (a Generate call, another orchestrator's channel) is news
  // the orchestrator hears from no result of its own. Checked after the current step, by which
  // time this channel's own result, which carries the count, is queued.
  private released(): void {
    queueMicrotask(() => {
      if (!this.stopped && this.deps.load.free > this.lastFree) this.outbox.credit();
    });
  }

  private endWhenIdle(): void {
    if ((this.closing || this.inputDone) && this.running.size === 0) this.outbox.end();
  }

  private start(task: ChannelTask): void {
    this.received += 1;
    if (this.closing || this.stopped) {
      const error = new RpcError(status.UNAVAILABLE, `replica ${this.deps.replicaId} is shutting down`);
      this.outbox.result(task.taskId, { case: "error", value: channelError(error, this.deps) });
      return;
    }
    const controller = new AbortController();
    this.running.set(task.taskId, controller);
    void this.run(task, controller).finally(() => {
      this.running.delete(task.taskId);
      this.endWhenIdle();
    });
  }

  // One span per task, `chorus.agent.task`, the child of the orchestrator's attempt span whose
  // trace context the task carries; the model call's span is its child.
  private run(task: ChannelTask, controller: AbortController): Promise<void> {
    const attributes = {
      [ChorusAttr.agent]: this.deps.agent.name,
      [ChorusAttr.replicaId]: this.deps.replicaId,
      [ChorusAttr.stream]: task.stream,
    };
    const parent = extractHeaders(task.traceContext);
    const options = { kind: SpanKind.SERVER, attributes };
    return inSpan("chorus.agent.task", options, (span) => this.runTask(task, controller, span), parent);
  }

  private async runTask(task: ChannelTask, controller: AbortController, span: Span): Promise<void> {
    const { deps } = this;
    const timeoutMs = task.timeoutMs > 0 ? task.timeoutMs : deps.llmTimeoutMs;
    const context: CallContext = {
      signal: controller.signal,
      deadline: new Date(Date.now() + timeoutMs),
      requestId: task.requestId || this.context.requestId,
      metadata: this.context.metadata,
      peer: this.context.peer,
    };
    const request = task.request ?? EMPTY_REQUEST;
    setAttributes(span, { [ChorusAttr.turnId]: request.turnId || undefined });
    try {
      validate(request, deps);
      const generation = new Generation(deps, request, context);
      let answer: Answer;
      try {
        answer = task.stream
          ? await this.streamed(task.taskId, generation)
          : generation.response(await deps.llm.complete(generation.llmRequest()));
      } catch (err) {
        throw generation.failure(err);
      } finally {
        generation.close();
      }
      setAttributes(span, {
        [ChorusAttr.promptTokens]: answer.promptTokens,
        [ChorusAttr.completionTokens]: answer.completionTokens,
      });
      this.outbox.result(task.taskId, { case: "response", value: answer });
    } catch (err) {
      failSpan(span, err);
      this.outbox.result(task.taskId, { case: "error", value: channelError(err, deps) });
    }
  }

  private async streamed(taskId: number, generation: Generation): Promise<Answer> {
    for await (const event of this.deps.llm.stream(generation.llmRequest())) {
      if (event.type === "delta") this.outbox.delta(taskId, event.text);
      else return generation.response(event.result);
    }
    throw new RpcError(status.INTERNAL, "the model's stream ended without an answer");
  }
}
