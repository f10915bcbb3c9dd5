import { create } from "@bufbuild/protobuf";
import {
  type AgentAnswer,
  type Conversation,
  ConversationSchema,
  type Turn,
  TurnSchema,
} from "@chorus/proto";

/** A row of the conversations table. */
export interface ConversationRow {
  conversation_id: string;
  /** The principal that created it. */
  owner: string;
  title: string;
  created_at_ms: number;
  updated_at_ms: number;
  turn_count: number;
}

/** A row of the turns table. */
export interface TurnRow {
  turn_id: string;
  conversation_id: string;
  seq: number;
  message: string;
  answer: string;
  aggregation: number;
  latency_ms: number;
  started_at_ms: number;
  completed_at_ms: number;
  /** JSON array of agent names. */
  answered_by: string;
}

function parseNames(json: string): string[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) ? parsed.filter((name): name is string => typeof name === "string") : [];
}

/** A row of the agent_answers table. */
export interface AgentAnswerRow {
  turn_id: string;
  position: number;
  agent: string;
  replica: string;
  text: string;
  ok: number;
  error: string;
  latency_ms: number;
  attempts: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached: number;
}

/** The Conversation message of a row. */
export function conversationOf(row: ConversationRow): Conversation {
  return create(ConversationSchema, {
    conversationId: row.conversation_id,
    title: row.title,
    turnCount: row.turn_count,
    createdAtMs: BigInt(row.created_at_ms),
    updatedAtMs: BigInt(row.updated_at_ms),
  });
}

/** The Turn message of a row and its agent answer rows (in position order). */
export function turnOf(row: TurnRow, answers: readonly AgentAnswerRow[]): Turn {
  return create(TurnSchema, {
    turnId: row.turn_id,
    conversationId: row.conversation_id,
    seq: row.seq,
    message: row.message,
    answer: row.answer,
    aggregation: row.aggregation,
    agentAnswers: answers.map((answer) => ({
      agent: answer.agent,
      replica: answer.replica,
      text: answer.text,
      ok: answer.ok !== 0,
      error: answer.error,
      latencyMs: answer.latency_ms,
      attempts: answer.attempts,
      promptTokens: answer.prompt_tokens,
      completionTokens: answer.completion_tokens,
      cached: answer.cached !== 0,
    })),
    latencyMs: row.latency_ms,
    startedAtMs: BigInt(row.started_at_ms),
    completedAtMs: BigInt(row.completed_at_ms),
    answeredBy: parseNames(row.answered_by),
  });
}

/** The turns row to insert for `turn` at `seq`. */
export function turnRowOf(turn: Turn, seq: number): TurnRow {
  return {
    turn_id: turn.turnId,
    conversation_id: turn.conversationId,
    seq,
    message: turn.message,
    answer: turn.answer,
    aggregation: turn.aggregation,
    latency_ms: turn.latencyMs,
    started_at_ms: Number(turn.startedAtMs),
    completed_at_ms: Number(turn.completedAtMs),
    answered_by: JSON.stringify(turn.answeredBy),
  };
}

/** The agent_answers row to insert for the answer at `position` of turn `turnId`. */
export function answerRowOf(turnId: string, position: number, answer: AgentAnswer): AgentAnswerRow {
  return {
    turn_id: turnId,
    position,
    agent: answer.agent,
    replica: answer.replica,
    text: answer.text,
    ok: answer.ok ? 1 : 0,
    error: answer.error,
    latency_ms: answer.latencyMs,
    attempts: answer.attempts,
    prompt_tokens: answer.promptTokens,
    completion_tokens: answer.completionTokens,
    cached: answer.cached ? 1 : 0,
  };
}
