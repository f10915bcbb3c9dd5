import type { AgentAnswerRow, TurnRow } from "./rows.js";
import type { Scope } from "./store.js";

/** A turns row as the PostgreSQL store reads it: with its agent answers, in position order, as JSON. */
export interface PostgresTurnRow extends TurnRow {
  answers: Array<Omit<AgentAnswerRow, "turn_id" | "ok" | "cached"> & { ok: boolean; cached: boolean }>;
}

/** The scope as the first two parameters ($1 owner, $2 admin) of every scoped query. */
export function scopeValues(scope: Scope): [string, boolean] {
  return [scope.owner, scope.admin];
}

/** The condition that a conversation row (under `table`) is in the scope of $1 and $2. */
const inScope = (table: string) => `(${table}.owner = $1 OR $2)`;

/**
 * A turn's columns and its answers, read in the same statement (so in the same snapshot): a
 * concurrent delete can never leave a turn without its answers.
 */
const TURN = `t.turn_id, t.conversation_id, t.seq, t.message, t.answer, t.aggregation, t.latency_ms,
  t.started_at_ms, t.completed_at_ms, t.answered_by,
  (SELECT COALESCE(json_agg(json_build_object(
      'position', a.position, 'agent', a.agent, 'replica', a.replica, 'text', a.text, 'ok', a.ok,
      'error', a.error, 'latency_ms', a.latency_ms, 'attempts', a.attempts,
      'prompt_tokens', a.prompt_tokens, 'completion_tokens', a.completion_tokens, 'cached', a.cached)
    ORDER BY a.position), '[]'::json)
   FROM agent_answers a WHERE a.turn_id = t.turn_id) AS answers`;

const SCOPED_TURNS = `FROM turns t JOIN conversations c ON c.conversation_id = t.conversation_id`;

/**
 * Search folds ASCII letters only (lower() under the "C" collation), as SQLite's LIKE does, so a
 * query finds the same turns on both backends; the folded query is $3.
 */
const MATCHES = `(strpos(lower(t.message COLLATE "C"), $3) > 0 OR strpos(lower(t.answer COLLATE "C"), $3) > 0)`;

/** Every statement the PostgreSQL store runs; $1 and $2 are the scope wherever it applies. */
export const SQL = {
  // Unscoped on purpose: appendTurn tells a turn_id taken outside the scope from a new one.
  turnWithOwner: `SELECT ${TURN}, c.owner ${SCOPED_TURNS} WHERE t.turn_id = $1`,
  // Unscoped on purpose, and locked: appends to one conversation queue here, so seqs stay gapless.
  lockConversation: "SELECT * FROM conversations WHERE conversation_id = $1 FOR UPDATE",
  insertConversation: `INSERT INTO conversations (conversation_id, owner, title, created_at_ms, updated_at_ms, turn_count)
    VALUES ($1, $2, $3, $4, $4, 0) ON CONFLICT (conversation_id) DO NOTHING`,
  nextSeq: "SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM turns WHERE conversation_id = $1",
  insertTurn: `INSERT INTO turns (turn_id, conversation_id, seq, message, answer, aggregation, latency_ms,
    started_at_ms, completed_at_ms, answered_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
  // One statement for all of a turn's answers, however many.
  insertAnswers: `INSERT INTO agent_answers (turn_id, position, agent, replica, text, ok, error, latency_ms,
    attempts, prompt_tokens, completion_tokens, cached)
    SELECT $1::text, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::text[],
      $8::float8[], $9::int[], $10::int[], $11::int[], $12::boolean[])`,
  // GREATEST keeps updated_at_ms from moving backwards if the wall clock does.
  touchConversation: `UPDATE conversations SET updated_at_ms = GREATEST(updated_at_ms, $1), turn_count = turn_count + 1
    WHERE conversation_id = $2`,
  // Claims are the owner's own ($1 owner, $2 turn_id). The upsert takes the row only from the same
  // claim ($3) or a lease that ran out by $5, and returns nothing while another claim holds it.
  claimTurn: `INSERT INTO turn_claims AS c (owner, turn_id, claim_id, expires_at_ms) VALUES ($1, $2, $3, $4)
    ON CONFLICT (owner, turn_id) DO UPDATE SET claim_id = EXCLUDED.claim_id, expires_at_ms = EXCLUDED.expires_at_ms
    WHERE c.claim_id = EXCLUDED.claim_id OR c.expires_at_ms <= $5
    RETURNING c.claim_id`,
  claimExpiry: "SELECT expires_at_ms FROM turn_claims WHERE owner = $1 AND turn_id = $2",
  releaseClaim: "DELETE FROM turn_claims WHERE owner = $1 AND turn_id = $2 AND claim_id = $3",
  endClaims: "DELETE FROM turn_claims WHERE owner = $1 AND turn_id = $2",
  // Rows locked by a claim in progress are skipped, so the purge never waits (or deadlocks) on one.
  purgeExpiredClaims: `DELETE FROM turn_claims WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM turn_claims WHERE expires_at_ms <= $1 LIMIT 1000 FOR UPDATE SKIP LOCKED))`,
  scopedConversation: `SELECT * FROM conversations c WHERE c.conversation_id = $3 AND ${inScope("c")}`,
  scopedTurn: `SELECT ${TURN} ${SCOPED_TURNS} WHERE t.turn_id = $3 AND ${inScope("c")}`,
  // $4 NULL means every turn.
  scopedLastTurns: `SELECT * FROM (SELECT ${TURN} ${SCOPED_TURNS}
      WHERE t.conversation_id = $3 AND ${inScope("c")} ORDER BY t.seq DESC LIMIT $4) last ORDER BY seq`,
  // Scoped itself: an export reads its batches in separate statements.
  scopedTurnsAfter: `SELECT ${TURN} ${SCOPED_TURNS}
    WHERE t.conversation_id = $3 AND ${inScope("c")} AND t.seq > $4 ORDER BY t.seq LIMIT $5`,
  // $3/$4: the cursor (NULL on the first page); $5: the limit.
  listConversations: `SELECT * FROM conversations c WHERE ${inScope("c")}
    AND ($3::bigint IS NULL OR (c.updated_at_ms, c.conversation_id) < ($3, $4::text))
    ORDER BY c.updated_at_ms DESC, c.conversation_id DESC LIMIT $5`,
  searchAll: `SELECT ${TURN} ${SCOPED_TURNS} WHERE ${inScope("c")} AND ${MATCHES}
    ORDER BY t.completed_at_ms DESC, t.stored DESC LIMIT $4`,
  searchOne: `SELECT ${TURN} ${SCOPED_TURNS} WHERE t.conversation_id = $5 AND ${inScope("c")} AND ${MATCHES}
    ORDER BY t.completed_at_ms DESC, t.stored DESC LIMIT $4`,
  // RETURNING reads the statement's snapshot, where the turns the cascade removes are still there.
  deleteScopedConversation: `DELETE FROM conversations c WHERE c.conversation_id = $3 AND ${inScope("c")}
    RETURNING (SELECT count(*) FROM turns WHERE turns.conversation_id = c.conversation_id) AS turns`,
} as const;

/** ASCII letters lower-cased, every other character kept: the search fold of both backends. */
export function foldAscii(text: string): string {
  return text.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}

/** The answer rows of a PostgresTurnRow, in the shape turnOf reads. */
export function answerRowsOf(row: PostgresTurnRow): AgentAnswerRow[] {
  return row.answers.map((answer) => ({
    ...answer,
    turn_id: row.turn_id,
    ok: answer.ok ? 1 : 0,
    cached: answer.cached ? 1 : 0,
  }));
}
