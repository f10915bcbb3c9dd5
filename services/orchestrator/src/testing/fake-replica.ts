import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  AgentService,
  type ChannelResultSchema,
  type ChannelTask,
  type TaskChannelRequest,
  type TaskChannelResponseSchema,
} from "@chorus/proto";
import { bind, createLogger, type RunningServer, serve } from "@chorus/shared";
import { AsyncQueue } from "../turn/async-queue.js";

/** How a fake replica ends one task: an answer or an error, after as long as it likes. */
export type FakeOutcome = NonNullable<MessageInitShape<typeof ChannelResultSchema>["outcome"]>;

/** Decides a task's outcome; `cancelled` aborts when the orchestrator cancels the task. */
export type FakeTaskHandler = (task: ChannelTask, cancelled: AbortSignal) => Promise<FakeOutcome>;

/** A replica's answer to a task, as a fake replica's handler returns it. */
export function fakeAnswer(text: string): FakeOutcome {
  const value = {
    text,
    promptTokens: 1,
    completionTokens: 1,
    model: "fake",
    latencyMs: 1,
    replicaId: "fake",
  };
  return { case: "response", value };
}

/** An AgentService replica whose task channel runs tasks through `handle`, keeping score. */
export interface FakeReplica {
  readonly server: RunningServer;
  readonly address: string;
  /** Tasks received, in order. */
  readonly tasks: ChannelTask[];
  /** Ids of the tasks the orchestrator cancelled. */
  readonly cancels: number[];
  /** Tasks running now, and the most that ever ran at once. */
  readonly running: { now: number; peak: number };
  /** While true, heartbeats go unanswered (as from a replica that hangs between tasks). */
  muted: boolean;
  close(): Promise<void>;
}

type Response = MessageInitShape<typeof TaskChannelResponseSchema>;

/**
 * Starts a fake replica with `workers` slots on 127.0.0.1:0 speaking the task-channel protocol;
 * `busyElsewhere` of them are taken by callers outside the channel (as a Generate call or another
 * orchestrator would), so it reports that many fewer free slots.
 */
export async function startFakeReplica(
  handle: FakeTaskHandler,
  workers = 4,
  busyElsewhere = 0,
): Promise<FakeReplica> {
  const tasks: ChannelTask[] = [];
  const cancels: number[] = [];
  const running = { now: 0, peak: 0 };
  const replica = { tasks, cancels, running, muted: false };
  async function* taskChannel(requests: AsyncIterable<TaskChannelRequest>): AsyncIterable<Response> {
    const out = new AsyncQueue<Response>();
    const controllers = new Map<number, AbortController>();
    let received = 0;
    const stamp = () => ({ freeSlots: workers - busyElsewhere - running.now, tasksReceived: received });
    out.push({ ...stamp(), event: { case: "ready", value: { workers } } });
    void (async () => {
      for await (const { kind } of requests) {
        if (kind.case === "heartbeat") {
          if (!replica.muted) out.push({ ...stamp(), event: { case: "heartbeat", value: kind.value } });
        } else if (kind.case === "cancel") {
          cancels.push(kind.value.taskId);
          controllers.get(kind.value.taskId)?.abort();
        } else if (kind.case === "task") {
          received += 1;
          tasks.push(kind.value);
          const controller = new AbortController();
          controllers.set(kind.value.taskId, controller);
          running.now += 1;
          running.peak = Math.max(running.peak, running.now);
          void handle(kind.value, controller.signal).then((outcome) => {
            running.now -= 1;
            controllers.delete(kind.value.taskId);
            out.push({
              ...stamp(),
              event: { case: "result", value: { taskId: kind.value.taskId, outcome } },
            });
          });
        }
      }
      out.end();
    })().catch((err: unknown) => out.end(err));
    yield* out;
  }
  const handlers = {
    generate: async () => ({}),
    async *generateStream() {},
    describe: async () => ({}),
    taskChannel,
  };
  const log = createLogger("fake-replica", "silent");
  const server = await serve({ host: "127.0.0.1", port: 0, services: [bind(AgentService, handlers)], log });
  return Object.assign(replica, { server, address: server.address, close: () => server.close(0) });
}
