import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ChannelResultSchema, ChannelTaskSchema, TaskChannelResponseSchema } from "@chorus/proto";

type Response = MessageInitShape<typeof TaskChannelResponseSchema>;
type Event = NonNullable<Response["event"]>;
type Outcome = MessageInitShape<typeof ChannelResultSchema>["outcome"];
type TaskId = NonNullable<MessageInitShape<typeof ChannelTaskSchema>["taskId"]>;

/** How long a streaming task's text gathers before it is sent as one delta. */
export const DELTA_COALESCE_MS = 5;

/** What every message of the channel is stamped with as it leaves: the replica's credits. */
export interface ChannelStamp {
  readonly freeSlots: number;
  readonly tasksReceived: number;
}

/**
 * What a replica's task channel has yet to send, in order. A streaming task's text gathers for
 * DELTA_COALESCE_MS, and text that arrives while its delta still waits to be sent (the connection
 * is behind) joins that delta; a result follows its task's deltas; a heartbeat's echo goes first.
 * So it holds at most a delta and a result per running task, one echo and one credit.
 */
export class ChannelOutbox {
  private readonly queue: Event[] = [];
  /** Deltas in the queue, by task, that more text may still join. */
  private readonly queuedDeltas = new Map<TaskId, { taskId: TaskId; text: string }>();
  /** Text gathering for its first delta, by task. */
  private readonly gathering = new Map<TaskId, string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private ended = false;
  private failure: unknown;

  constructor(private readonly stamp: () => ChannelStamp) {}

  /** Messages waiting to be sent. */
  get size(): number {
    return this.queue.length;
  }

  ready(workers: number, replicaId: string): void {
    this.push({ case: "ready", value: { workers, replicaId } });
  }

  /** More text of a streaming task, sent within DELTA_COALESCE_MS together with what follows it. */
  delta(taskId: TaskId, text: string): void {
    const queued = this.queuedDeltas.get(taskId);
    if (queued) {
      queued.text += text;
      return;
    }
    this.gathering.set(taskId, (this.gathering.get(taskId) ?? "") + text);
    this.flushTimer ??= setTimeout(() => this.flush(), DELTA_COALESCE_MS);
  }

  /** A task's end, after the rest of its text. */
  result(taskId: TaskId, outcome: Outcome): void {
    this.flushTask(taskId);
    this.push({ case: "result", value: { taskId, outcome } });
  }

  /** Echoes a heartbeat ahead of everything waiting (one echo waits at most). */
  heartbeat(sequence: number): void {
    const first = this.queue[0];
    if (first?.case === "heartbeat") first.value = { sequence };
    else this.queue.unshift({ case: "heartbeat", value: { sequence } });
    this.wake?.();
  }

  /** Tells the free slots; only when nothing else waits, since every message carries them. */
  credit(): void {
    if (this.queue.length === 0 && !this.ended) this.push({ case: "credit", value: {} });
  }

  /** Sends what waits, then ends the channel. */
  end(): void {
    this.flush();
    this.ended = true;
    this.wake?.();
  }

  /** Ends the channel with `err` as its status. */
  fail(err: unknown): void {
    this.failure ??= err;
    this.end();
  }

  /** The messages as they leave, each stamped with the credits of that moment. */
  async *messages(): AsyncIterable<Response> {
    for (;;) {
      const event = this.queue.shift();
      if (event) {
        if (event.case === "delta") this.queuedDeltas.delete(event.value.taskId ?? 0);
        yield { ...this.stamp(), event };
        continue;
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }

  private push(event: Event): void {
    if (this.ended) return;
    this.queue.push(event);
    this.wake?.();
  }

  private queueDelta(taskId: TaskId, text: string): void {
    const value = { taskId, text };
    this.queuedDeltas.set(taskId, value);
    this.push({ case: "delta", value });
  }

  private flushTask(taskId: TaskId): void {
    const text = this.gathering.get(taskId);
    if (text === undefined) return;
    this.gathering.delete(taskId);
    this.queueDelta(taskId, text);
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    for (const [taskId, text] of this.gathering) this.queueDelta(taskId, text);
    this.gathering.clear();
  }
}
