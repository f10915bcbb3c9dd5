import { randomUUID } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type AgentAnswer,
  Aggregation,
  type ChatEventSchema,
  type ChatResponseSchema,
  type HistoryService,
  type Turn,
} from "@chorus/proto";
import { type ChorusConfig, codeOf, type Logger, type PromiseClient, RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { runAgentTask } from "./agent-task.js";
import * as aggregate from "./aggregation.js";
import type { Cache } from "./cache.js";
import { type ContextMessage, cacheKey } from "./cache-key.js";
import { buildContext } from "./context.js";
import type { OrchestratorMetrics } from "./orchestrator-metrics.js";
import type { Pool } from "./pool.js";
import type { Stats } from "./stats.js";

/** Everything a turn needs from the orchestrator. */
export interface TurnDeps {
  readonly config: ChorusConfig;
  readonly pools: ReadonlyMap<string, Pool>;
  readonly history: PromiseClient<typeof HistoryService>;
  readonly cache: Cache | undefined;
  readonly stats: Stats;
  readonly metrics: OrchestratorMetrics;
  readonly log: Logger;
}

/** A validated turn request. */
export interface TurnInput {
  readonly conversationId: string;
  readonly message: string;
  readonly turnId: string;
  readonly aggregation: Aggregation;
  readonly agents: readonly string[];
  readonly deadline: Date;
  readonly signal: AbortSignal;
  readonly requestId: string;
  /** Batch items skip the conversation context. */
  readonly useContext: boolean;
  /** Batch items go into a conversation the batch creates. */
  readonly createConversation?: boolean | undefined;
  readonly onEvent?: ((event: MessageInitShape<typeof ChatEventSchema>) => void) | undefined;
}

type ChatResponseInit = MessageInitShape<typeof ChatResponseSchema>;

function responseFromTurn(turn: Turn, replayed: boolean): ChatResponseInit {
  const answeredBy = turn.answeredBy.length > 0 ? turn.answeredBy : turn.agentAnswers.filter((a) => a.ok).map((a) => a.agent);
  return {
    conversationId: turn.conversationId,
    turnId: turn.turnId,
    answer: turn.answer,
    aggregation: turn.aggregation,
    agentAnswers: turn.agentAnswers,
    cached: turn.agentAnswers.length > 0 && turn.agentAnswers.every((a) => a.cached),
    latencyMs: turn.latencyMs,
    answeredBy,
    replayed,
  };
}

async function storedTurn(deps: TurnDeps, turnId: string, requestId: string): Promise<Turn | undefined> {
  try {
    const deadline = new Date(Date.now() + deps.config.history.timeout_ms);
    return (await deps.history.getTurn({ turnId }, { deadline, requestId })).turn;
  } catch (err) {
    if (codeOf(err) === status.NOT_FOUND) return undefined;
    throw historyUnavailable(err);
  }
}

function historyUnavailable(err: unknown): RpcError {
  const code = codeOf(err);
  if (code === status.NOT_FOUND || code === status.INVALID_ARGUMENT) return err as RpcError;
  return new RpcError(status.UNAVAILABLE, `history service unavailable: ${(err as Error).message}`);
}

async function conversationContext(deps: TurnDeps, input: TurnInput): Promise<ContextMessage[]> {
  if (input.conversationId === "" || input.createConversation) return [];
  const { context_turns, context_tokens } = deps.config.orchestrator;
  try {
    const deadline = new Date(Date.now() + deps.config.history.timeout_ms);
    const response = await deps.history.getConversation(
      { conversationId: input.conversationId, lastTurns: Math.max(context_turns, 1) },
      { deadline, requestId: input.requestId },
    );
    return input.useContext ? buildContext(response.turns, context_turns, context_tokens) : [];
  } catch (err) {
    throw historyUnavailable(err);
  }
}

/** Runs one agent's task for a turn, through the cache. */
async function answerFromAgent(
  deps: TurnDeps,
  pool: Pool,
  input: TurnInput,
  turnId: string,
  context: readonly ContextMessage[],
  signal: AbortSignal,
): Promise<AgentAnswer> {
  const started = performance.now();
  const counters = deps.stats.agent(pool.name);
  counters.requests += 1;
  const key = cacheKey(pool.agent, context, input.message);
  const hit = deps.cache ? await deps.cache.get(key) : undefined;
  const base = { $typeName: "chorus.v1.AgentAnswer" as const, agent: pool.name };
  if (hit) {
    deps.stats.cacheHits += 1;
    counters.cacheHits += 1;
    counters.succeeded += 1;
    deps.metrics.cache.inc({ result: "hit" });
    input.onEvent?.({ event: { case: "delta", value: { agent: pool.name, text: hit.text } } });
    return {
      ...base,
      text: hit.text,
      ok: true,
      error: "",
      latencyMs: performance.now() - started,
      attempts: 0,
      replica: "cache",
      cached: true,
      promptTokens: hit.promptTokens,
      completionTokens: hit.completionTokens,
    };
  }
  if (deps.cache) {
    deps.stats.cacheMisses += 1;
    deps.metrics.cache.inc({ result: "miss" });
  }
  const onEvent = input.onEvent;
  const result = await runAgentTask(pool, {
    turnId,
    message: input.message,
    context,
    deadline: input.deadline,
    signal,
    requestId: input.requestId,
    maxAttempts: deps.config.orchestrator.task_attempts,
    onDelta: onEvent
      ? (text) => onEvent({ event: { case: "delta", value: { agent: pool.name, text } } })
      : undefined,
  });
  const latencyMs = performance.now() - started;
  counters.latencyMsTotal += latencyMs;
  counters.llmCalls += result.attempts;
  counters.promptTokens += result.promptTokens;
  counters.completionTokens += result.completionTokens;
  deps.metrics.agentSeconds.observe({ agent: pool.name, ok: String(result.ok) }, latencyMs / 1000);
  if (result.ok) {
    counters.succeeded += 1;
    if (deps.cache) {
      const answer = {
        text: result.text,
        promptTokens: result.promptTokens,
        completionTokens: result.completionTokens,
      };
      void deps.cache.set(key, answer);
    }
  } else if (!(signal.aborted && !input.signal.aborted)) {
    // Tasks stopped because fastest/quorum settled are not the agent's errors.
    counters.errors += 1;
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

function failedAnswer(agent: string, error: string): AgentAnswer {
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

/** Runs every selected agent, returning their answers in agent order once aggregation is settled. */
async function collectAnswers(
  deps: TurnDeps,
  input: TurnInput,
  turnId: string,
  context: readonly ContextMessage[],
): Promise<{ answers: AgentAnswer[]; outcomes: aggregate.TaskOutcome[] }> {
  const controller = new AbortController();
  const abort = () => controller.abort(input.signal.reason);
  input.signal.addEventListener("abort", abort, { once: true });
  const answers: (AgentAnswer | undefined)[] = input.agents.map(() => undefined);
  const outcomes: aggregate.TaskOutcome[] = [];
  const { quorum_size } = deps.config.orchestrator;
  try {
    await new Promise<void>((resolve) => {
      input.agents.forEach((name, index) => {
        const pool = deps.pools.get(name);
        if (!pool) throw new RpcError(status.INVALID_ARGUMENT, `agents: unknown agent "${name}"`);
        const settle = (answer: AgentAnswer) => {
          if (answers[index] !== undefined) return;
          answers[index] = answer;
          outcomes.push({ agent: name, ok: answer.ok, text: answer.text, finishedOrder: outcomes.length });
          input.onEvent?.({ event: { case: "agentDone", value: answer } });
          if (aggregate.isSettled(input.aggregation, outcomes, input.agents.length, quorum_size)) resolve();
        };
        answerFromAgent(deps, pool, input, turnId, context, controller.signal).then(
          settle,
          (err: unknown) => {
            deps.log.error({ err, agent: name, turnId }, "agent task failed unexpectedly");
            settle(failedAnswer(name, "internal error"));
          },
        );
      });
    });
  } finally {
    input.signal.removeEventListener("abort", abort);
    // Early-settled modes (fastest, quorum) stop the agents whose answers are no longer needed.
    controller.abort(new Error("aggregation settled"));
  }
  const complete = answers.map(
    (answer, index): AgentAnswer =>
      answer ??
      failedAnswer(
        input.agents[index] ?? "",
        `not awaited: ${aggregate.aggregationName(input.aggregation)} aggregation settled first`,
      ),
  );
  const ordered = input.agents
    .map((agent) => outcomes.find((o) => o.agent === agent))
    .filter((o) => o !== undefined);
  return { answers: complete, outcomes: ordered };
}

async function judged(deps: TurnDeps, input: TurnInput, turnId: string, outcomes: aggregate.TaskOutcome[]) {
  const judgeName = deps.config.orchestrator.judge_agent;
  const pool = deps.pools.get(judgeName);
  if (!pool || !outcomes.some((o) => o.ok)) return aggregate.priority(outcomes);
  const result = await runAgentTask(pool, {
    turnId,
    message: aggregate.judgePrompt(input.message, outcomes),
    context: [],
    deadline: input.deadline,
    signal: input.signal,
    requestId: input.requestId,
    maxAttempts: deps.config.orchestrator.task_attempts,
  });
  if (!result.ok) {
    deps.log.warn({ turnId, error: result.error }, "judge failed; falling back to priority");
    return aggregate.priority(outcomes);
  }
  return { answer: result.text, answeredBy: [judgeName] };
}

function combine(deps: TurnDeps, input: TurnInput, turnId: string, outcomes: aggregate.TaskOutcome[]) {
  switch (input.aggregation) {
    case Aggregation.FASTEST:
      return aggregate.fastest(outcomes);
    case Aggregation.ALL:
      return aggregate.all(outcomes);
    case Aggregation.QUORUM:
      return aggregate.quorum(outcomes, deps.config.orchestrator.quorum_size);
    case Aggregation.JUDGE:
      return judged(deps, input, turnId, outcomes);
    default:
      return aggregate.priority(outcomes);
  }
}

function failure(input: TurnInput, answers: readonly AgentAnswer[]): RpcError {
  const detail = answers.map((a) => `${a.agent}: ${a.error}`).join("; ");
  if (input.signal.aborted) return new RpcError(status.CANCELLED, "turn cancelled by the caller");
  if (Date.now() >= input.deadline.getTime()) {
    return new RpcError(status.DEADLINE_EXCEEDED, `no agent answered before the deadline (${detail})`);
  }
  if (answers.every((a) => a.error.includes("queue_limit")))
    return new RpcError(status.RESOURCE_EXHAUSTED, detail);
  return new RpcError(status.UNAVAILABLE, `no agent could answer (${detail})`);
}

/** Runs one turn: replay check, context, fan-out, aggregation, history write, then the answer. */
export async function runTurn(deps: TurnDeps, input: TurnInput): Promise<ChatResponseInit> {
  const startedAtMs = Date.now();
  const started = performance.now();
  if (input.turnId) {
    const stored = await storedTurn(deps, input.turnId, input.requestId);
    if (stored) return responseFromTurn(stored, true);
  }
  const context = await conversationContext(deps, input);
  const turnId = input.turnId || randomUUID();
  const newConversation = input.conversationId === "";
  const conversationId = newConversation ? randomUUID() : input.conversationId;
  input.onEvent?.({
    event: { case: "started", value: { conversationId, turnId, agents: [...input.agents] } },
  });
  deps.stats.turnStarted(startedAtMs);
  let ok = false;
  try {
    const { answers, outcomes } = await collectAnswers(deps, input, turnId, context);
    if (!answers.some((a) => a.ok)) throw failure(input, answers);
    const { answer, answeredBy } = await combine(deps, input, turnId, outcomes);
    const latencyMs = performance.now() - started;
    const stored = await deps.history
      .appendTurn(
        {
          turn: {
            turnId,
            conversationId,
            message: input.message,
            answer,
            aggregation: input.aggregation,
            agentAnswers: answers,
            answeredBy,
            latencyMs,
            startedAtMs: BigInt(startedAtMs),
            completedAtMs: BigInt(Date.now()),
          },
          createConversation: newConversation || input.createConversation === true,
        },
        { deadline: new Date(Date.now() + deps.config.history.timeout_ms), requestId: input.requestId },
      )
      .catch((err: unknown) => {
        throw historyUnavailable(err);
      });
    if (!stored.turn) throw new RpcError(status.INTERNAL, "history returned no turn");
    ok = true;
    return responseFromTurn(stored.turn, !stored.created);
  } finally {
    const latencyMs = performance.now() - started;
    deps.stats.turnFinished(ok, latencyMs, Date.now());
    deps.metrics.turns.inc({ ok: String(ok) });
    if (ok) deps.metrics.turnSeconds.observe(latencyMs / 1000);
  }
}
