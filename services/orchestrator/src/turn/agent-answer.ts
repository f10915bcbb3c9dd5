import type { AgentAnswer } from "@chorus/proto";
import type { ContextMessage } from "../executor/agent-task.js";
import type { AgentDispatch } from "./agent-dispatch.js";
import { cacheKey } from "./cache-key.js";
import type { TurnDeps, TurnInput } from "./turn-types.js";

/** Runs one agent's task for a turn, through the cache. */
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
  const key = cacheKey(pool.agent, input.principal.id, context, input.message);
  const hit = deps.cache ? await deps.cache.get(key) : undefined;
  if (deps.cache) recorder.cacheLookup(pool.name, hit !== undefined);
  const base = { $typeName: "chorus.v1.AgentAnswer" as const, agent: pool.name };
  if (hit) {
    const latencyMs = performance.now() - started;
    recorder.taskFinished(pool.name, {
      outcome: "ok",
      cached: true,
      latencyMs,
      attempts: 0,
      promptTokens: 0,
      completionTokens: 0,
    });
    input.onEvent?.({ event: { case: "delta", value: { agent: pool.name, text: hit.text } } });
    return {
      ...base,
      text: hit.text,
      ok: true,
      error: "",
      latencyMs,
      attempts: 0,
      replica: "cache",
      cached: true,
      promptTokens: hit.promptTokens,
      completionTokens: hit.completionTokens,
    };
  }
  const onEvent = input.onEvent;
  const result = await pool.run({
    turnId,
    message: input.message,
    context,
    deadline: input.deadline,
    signal,
    requestId: input.requestId,
    client: input.client,
    maxAttempts: deps.config.orchestrator.task_attempts,
    onDelta: onEvent
      ? (text) => onEvent({ event: { case: "delta", value: { agent: pool.name, text } } })
      : undefined,
  });
  const latencyMs = performance.now() - started;
  // Tasks stopped because fastest/quorum settled are not the agent's errors.
  const stopped = !result.ok && signal.aborted && !input.signal.aborted;
  recorder.taskFinished(pool.name, {
    outcome: result.ok ? "ok" : stopped ? "stopped" : "failed",
    cached: false,
    latencyMs,
    attempts: result.attempts,
    promptTokens: result.promptTokens,
    completionTokens: result.completionTokens,
  });
  if (result.ok && deps.cache) {
    const answer = {
      text: result.text,
      promptTokens: result.promptTokens,
      completionTokens: result.completionTokens,
    };
    void deps.cache.set(key, answer);
  }
  return {
    ...base,
    text: result.text,
    ok: result.ok,
    error: result.error,
    latencyMs,
    attempts: result.attempts,
    replica: result.replica,
    cached: false,
    promptTokens: result.promptTokens,
    completionTokens: result.completionTokens,
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
