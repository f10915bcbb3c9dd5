import type { AgentAnswer } from "@chorus/proto";
import type { ContextMessage } from "../executor/agent-task.js";
import type { AgentDispatch } from "./agent-dispatch.js";
import { cacheKey, cachesAnswers } from "./cache-key.js";
import type { TurnDeps, TurnInput } from "./turn-types.js";

/** An answer this task got without asking an agent itself. */
interface Served {
  readonly text: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** "cache", or "coalesced" for an identical request's generation in flight. */
  readonly replica: string;
}

/**
 * Runs one agent's task for a turn. An agent whose answers are cached (cachesAnswers) answers from
 * the cache, or from the identical request's generation already in flight, or generates once for
 * every identical request meanwhile; any other agent generates every answer anew.
 */
export async function answerFromAgent(
  deps: TurnDeps,
  pool: AgentDispatch,
  input: TurnInput,
  turnId: string,
  context: readonly ContextMessage[],
  signal: AbortSignal,
): Promise<AgentAnswer> {
  const started = performance.now();
  const { recorder } = deps;
  recorder.taskStarted(pool.name);
  const onEvent = input.onEvent;
  const onDelta = onEvent
    ? (text: string) => onEvent({ event: { case: "delta", value: { agent: pool.name, text } } })
    : undefined;
  const task = (taskSignal: AbortSignal, taskDelta: ((text: string) => void) | undefined) =>
    pool.run({
      turnId,
      message: input.message,
      context,
      deadline: input.deadline,
      signal: taskSignal,
      requestId: input.requestId,
      client: input.client,
      maxAttempts: deps.config.orchestrator.task_attempts,
      onDelta: taskDelta,
    });
  const cache = cachesAnswers(pool.agent) ? deps.cache : undefined;
  if (!cache) return generated(deps, pool, input, signal, started, await task(signal, onDelta), false);
  const key = cacheKey(pool.agent, input.principal.id, context, input.message);
  const hit = await cache.get(key);
  if (hit) {
    recorder.cacheLookup(pool.name, true);
    onDelta?.(hit.text);
    return served(deps, pool, started, { ...hit, replica: "cache" });
  }
  const { result, joined } = await deps.answers.run(key, signal, onDelta, task, (done) =>
    cache.set(key, {
      text: done.text,
      promptTokens: done.promptTokens,
      completionTokens: done.completionTokens,
    }),
  );
  // Joining a generation in flight is the cache answering before it has the answer stored.
  recorder.cacheLookup(pool.name, joined);
  if (joined && result.ok) return served(deps, pool, started, { ...result, replica: "coalesced" });
  return generated(deps, pool, input, signal, started, result, joined);
}

function served(deps: TurnDeps, pool: AgentDispatch, started: number, answer: Served): AgentAnswer {
  const latencyMs = performance.now() - started;
  deps.recorder.taskFinished(pool.name, {
    outcome: "ok",
    cached: true,
    latencyMs,
    attempts: 0,
    promptTokens: 0,
    completionTokens: 0,
  });
  return {
    $typeName: "chorus.v1.AgentAnswer",
    agent: pool.name,
    text: answer.text,
    ok: true,
    error: "",
    latencyMs,
    attempts: 0,
    replica: answer.replica,
    cached: true,
    promptTokens: answer.promptTokens,
    completionTokens: answer.completionTokens,
  };
}

/** The answer of a task this request ran (or, `joined`, waited for in vain). */
function generated(
  deps: TurnDeps,
  pool: AgentDispatch,
  input: TurnInput,
  signal: AbortSignal,
  started: number,
  result: Awaited<ReturnType<AgentDispatch["run"]>>,
  joined: boolean,
): AgentAnswer {
  const latencyMs = performance.now() - started;
  // Tasks stopped because fastest/quorum settled are not the agent's errors.
  const stopped = !result.ok && signal.aborted && !input.signal.aborted;
  deps.recorder.taskFinished(pool.name, {
    outcome: result.ok ? "ok" : stopped ? "stopped" : "failed",
    // A request that joined another's generation asked no agent; that one counts the failure.
    cached: joined,
    latencyMs,
    attempts: result.attempts,
    promptTokens: result.promptTokens,
    completionTokens: result.completionTokens,
  });
  return {
    $typeName: "chorus.v1.AgentAnswer",
    agent: pool.name,
    text: result.text,
    ok: result.ok,
    error: result.error,
    latencyMs,
    attempts: joined ? 0 : result.attempts,
    replica: joined ? "coalesced" : result.replica,
    cached: false,
    promptTokens: joined ? 0 : result.promptTokens,
    completionTokens: joined ? 0 : result.completionTokens,
  };
}

/** A failed agent answer with `error`. */
export function failedAnswer(agent: string, error: string): AgentAnswer {
  return {
    $typeName: "chorus.v1.AgentAnswer",
    agent,
    text: "",
    ok: false,
    error,
    latencyMs: 0,
    attempts: 0,
    replica: "",
    cached: false,
    promptTokens: 0,
    completionTokens: 0,
  };
}
