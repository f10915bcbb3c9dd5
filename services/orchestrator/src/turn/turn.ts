import { randomUUID } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AgentAnswer, AppendTurnRequestSchema, ChatResponseSchema, Turn } from "@chorus/proto";
import { actingForMetadata, RpcError, type RpcOptions } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import type { ContextMessage } from "../executor/agent-task.js";
import { OverloadedError } from "../executor/overloaded.js";
import { combine } from "./combine.js";
import { buildContext } from "./context.js";
import { collectAnswers } from "./fan-out.js";
import { callHistory, type HistoryCallOptions, historyFailure } from "./history-call.js";
import { type ContextRequest, claimTurn } from "./turn-claim.js";
import type { HistoryCalls } from "./turn-history.js";
import { inTurnSpan } from "./turn-span.js";
import type { TurnDeps, TurnInput } from "./turn-types.js";

export type { TurnDeps, TurnInput } from "./turn-types.js";

type ChatResponseInit = MessageInitShape<typeof ChatResponseSchema>;

function responseFromTurn(turn: Turn, replayed: boolean): ChatResponseInit {
  const answeredBy =
    turn.answeredBy.length > 0 ? turn.answeredBy : turn.agentAnswers.filter((a) => a.ok).map((a) => a.agent);
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

// Every history call of a turn waits out a history restart within the turn's deadline.
function historyCall(deps: TurnDeps, input: TurnInput): HistoryCallOptions {
  const { requestId, deadline, principal } = input;
  const metadata = actingForMetadata(principal);
  return { timeoutMs: deps.config.history.timeout_ms, deadline, requestId, metadata, log: deps.log };
}

/** The conversation whose latest turns are the turn's context (and whose owner is checked); none for a new one. */
function contextRequest(deps: TurnDeps, input: TurnInput): ContextRequest | undefined {
  if (input.conversationId === "" || input.createConversation) return undefined;
  return {
    conversationId: input.conversationId,
    lastTurns: Math.max(deps.config.orchestrator.context_turns, 1),
  };
}

/** The turn's context: from `prepared` (read with the claim), else read now with GetConversation. */
async function conversationContext(
  deps: TurnDeps,
  input: TurnInput,
  prepared: readonly Turn[] | undefined,
): Promise<ContextMessage[]> {
  const request = contextRequest(deps, input);
  if (!request) return [];
  const { context_turns, context_tokens } = deps.config.orchestrator;
  let turns = prepared;
  if (!turns) {
    try {
      const call = historyCall(deps, input);
      const response = await callHistory(
        deps.history,
        (h, options) => h.getConversation(request, options),
        call,
      );
      turns = response.turns;
    } catch (err) {
      throw historyFailure(err);
    }
  }
  const { limits } = deps.config;
  return input.useContext ? buildContext(turns, context_turns, context_tokens, limits) : [];
}

function failure(input: TurnInput, answers: readonly AgentAnswer[]): RpcError {
  const detail = answers.map((a) => `${a.agent}: ${a.error}`).join("; ");
  if (input.signal.aborted) return new RpcError(status.CANCELLED, "turn cancelled by the caller");
  if (Date.now() >= input.deadline.getTime()) {
    return new RpcError(status.DEADLINE_EXCEEDED, `no agent answered before the deadline (${detail})`);
  }
  if (answers.every((a) => a.error.includes("queue_limit"))) return new OverloadedError(detail);
  return new RpcError(status.UNAVAILABLE, `no agent could answer (${detail})`);
}

/**
 * Runs one turn: context, fan-out, aggregation, history write, then the answer. A turn with a
 * turn_id runs once however many requests carry it: a duplicate in this orchestrator waits for the
 * one running, and the turn_id is claimed in history so one on another orchestrator waits too (or
 * gets the stored turn, replayed); the claim and the context are one history call (PrepareTurn).
 */
export async function runTurn(deps: TurnDeps, input: TurnInput): Promise<ChatResponseInit> {
  return inTurnSpan(input, () => {
    if (!input.turnId) return answerTurn(deps, input, randomUUID());
    return deps.turns.run(input, () => claimedTurn(deps, input));
  });
}

/** Answers a turn under the history claim on its turn_id, ending the claim (released if it failed). */
async function claimedTurn(deps: TurnDeps, input: TurnInput): Promise<ChatResponseInit> {
  const leaseMs = deps.config.orchestrator.turn_lease_ms;
  const outcome = await claimTurn(
    deps.history,
    input.turnId,
    leaseMs,
    historyCall(deps, input),
    input.signal,
    contextRequest(deps, input),
  );
  if ("stored" in outcome) return responseFromTurn(outcome.stored, true);
  let answered = false;
  try {
    const response = await answerTurn(deps, input, input.turnId, outcome.context);
    answered = true;
    return response;
  } finally {
    outcome.claim.end(!answered);
  }
}

async function answerTurn(
  deps: TurnDeps,
  input: TurnInput,
  turnId: string,
  prepared?: readonly Turn[],
): Promise<ChatResponseInit> {
  const startedAtMs = Date.now();
  const started = performance.now();
  const context = await conversationContext(deps, input, prepared);
  const newConversation = input.conversationId === "";
  const conversationId = newConversation ? randomUUID() : input.conversationId;
  input.onEvent?.({
    event: { case: "started", value: { conversationId, turnId, agents: [...input.agents] } },
  });
  deps.recorder.turnStarted(startedAtMs);
  let ok = false;
  try {
    const { answers, outcomes } = await collectAnswers(deps, input, turnId, context);
    if (!answers.some((a) => a.ok)) throw failure(input, answers);
    const { answer, answeredBy } = await combine(deps, input, turnId, outcomes);
    const latencyMs = performance.now() - started;
    const request: MessageInitShape<typeof AppendTurnRequestSchema> = {
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
    };
    const write = (h: HistoryCalls, options: RpcOptions) => h.appendTurn(request, options);
    const stored = await callHistory(deps.history, write, historyCall(deps, input)).catch((err: unknown) => {
      throw historyFailure(err);
    });
    if (!stored.turn) throw new RpcError(status.INTERNAL, "history returned no turn");
    ok = true;
    return responseFromTurn(stored.turn, !stored.created);
  } finally {
    const latencyMs = performance.now() - started;
    deps.recorder.turnFinished(ok, latencyMs, Date.now());
  }
}
