import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Aggregation, type BatchEventSchema, type ChatResponseSchema } from "@chorus/proto";
import { detailsOf, type Principal } from "@chorus/shared";
import { OverloadedError } from "../executor/overloaded.js";
import { AsyncQueue } from "./async-queue.js";
import { runTurn, type TurnDeps } from "./turn.js";

type BatchEventInit = MessageInitShape<typeof BatchEventSchema>;
type ChatResponseInit = MessageInitShape<typeof ChatResponseSchema>;

/** A validated batch. */
export interface BatchInput {
  readonly messages: readonly string[];
  readonly agents: readonly string[];
  readonly fanout: boolean;
  readonly deadline: Date;
  readonly signal: AbortSignal;
  readonly requestId: string;
  /** Who sent the batch: its conversation is theirs. */
  readonly principal: Principal;
  /** Whose batch this is for fair queuing (the api's client key); absent: one shared client. */
  readonly client?: string | undefined;
  /** Wraps each item's turn (the api's admission and per-principal limits); absent: runs it as is. */
  readonly around?: ((turn: () => Promise<ChatResponseInit>) => Promise<ChatResponseInit>) | undefined;
}

interface BatchTask {
  readonly index: number;
  readonly agent: string;
  readonly message: string;
}

// After an item shed under overload the worker waits the retry hint before its next item, so a full
// queue does not fail the rest of the batch in one burst (each refusal would shed another's work).
async function pauseAfter(err: unknown, input: BatchInput): Promise<void> {
  if (!(err instanceof OverloadedError)) return;
  const ms = Math.min(err.retryAfterMs, input.deadline.getTime() - Date.now());
  if (ms > 0) await delay(ms, undefined, { signal: input.signal }).catch(() => {});
}

function tasksOf(input: BatchInput): BatchTask[] {
  if (input.fanout) {
    return input.messages.flatMap((message, index) =>
      input.agents.map((agent) => ({ index, agent, message })),
    );
  }
  return input.messages.map((message, index) => ({
    index,
    agent: input.agents[index % input.agents.length] ?? "",
    message,
  }));
}

/**
 * Runs a batch, at most batch_concurrency items at once and each admitted by `around`, yielding each
 * task's result as it completes, then a summary.
 */
export function runBatch(deps: TurnDeps, input: BatchInput): AsyncIterable<BatchEventInit> {
  const queue = new AsyncQueue<BatchEventInit>();
  const tasks = tasksOf(input);
  // Every concurrent item's turn listens to the batch call's signal; that many listeners is expected.
  setMaxListeners(deps.config.limits.batch_concurrency * 4 + 10, input.signal);
  const conversationId = randomUUID();
  const started = performance.now();
  let next = 0;
  let successful = 0;
  let failed = 0;
  const worker = async () => {
    for (let task = tasks[next++]; task; task = tasks[next++]) {
      if (input.signal.aborted) return;
      const taskStarted = performance.now();
      const item = { index: task.index, agent: task.agent, message: task.message };
      try {
        const turn = () =>
          runTurn(deps, {
            conversationId,
            createConversation: true,
            message: task.message,
            turnId: "",
            aggregation: Aggregation.PRIORITY,
            agents: [task.agent],
            deadline: input.deadline,
            signal: input.signal,
            requestId: input.requestId,
            principal: input.principal,
            client: input.client,
            useContext: false,
          });
        const response = await (input.around ? input.around(turn) : turn());
        successful += 1;
        const answer = response.agentAnswers?.[0];
        queue.push({
          event: {
            case: "item",
            value: {
              ...item,
              success: true,
              response: response.answer ?? "",
              durationMs: performance.now() - taskStarted,
              timestampMs: BigInt(Date.now()),
              turnId: response.turnId ?? "",
              replica: answer?.replica ?? "",
            },
          },
        });
      } catch (err) {
        failed += 1;
        queue.push({
          event: {
            case: "item",
            value: {
              ...item,
              success: false,
              error: detailsOf(err),
              durationMs: performance.now() - taskStarted,
              timestampMs: BigInt(Date.now()),
            },
          },
        });
        await pauseAfter(err, input);
      }
    }
  };
  const width = Math.min(deps.config.limits.batch_concurrency, tasks.length);
  Promise.all(Array.from({ length: width }, worker)).then(
    () => {
      const wallTimeMs = performance.now() - started;
      queue.push({
        event: {
          case: "summary",
          value: {
            total: tasks.length,
            successful,
            failed,
            wallTimeMs,
            messagesPerSecond: wallTimeMs > 0 ? (successful * 1000) / wallTimeMs : 0,
            conversationId,
          },
        },
      });
      queue.end();
    },
    (err: unknown) => queue.end(err),
  );
  return queue;
}
