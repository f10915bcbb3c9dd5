import type { Database } from "better-sqlite3";
import type { AgentAnswerRow, ConversationRow, TurnRow } from "./rows.js";
import type { Scope } from "./store.js";

/** Escapes LIKE wildcards so `text` matches literally (with ESCAPE '\'). */
export function likeLiteral(text: string): string {
  return `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/** A Scope as named SQL parameters: @owner, and @admin as 0 or 1. */
export interface ScopeParams {
  owner: string;
  admin: 0 | 1;
}

/** The named parameters of `scope`. */
export function scopeParams(scope: Scope): ScopeParams {
  return { owner: scope.owner, admin: scope.admin ? 1 : 0 };
}

/** The condition that a conversation row (under `table`, a name or alias) is in the scope. */
const inScope = (table: string) => `(${table}.owner = @owner OR @admin = 1)`;

/** Prepares every statement the SQLite store runs, once per connection. */
export function prepareStatements(db: Database) {
  return {
    // Unscoped on purpose: appendTurn tells a conversation outside the scope from a missing one.
    selectConversation: db.prepare<[string], ConversationRow>(
      "SELECT * FROM conversations WHERE conversation_id = ?",
    ),
    selectScopedConversation: db.prepare<[ScopeParams & { id: string }], ConversationRow>(
      `SELECT * FROM conversations WHERE conversation_id = @id AND ${inScope("conversations")}`,
    ),
    insertConversation: db.prepare<[string, string, string, number, number]>(
      "INSERT INTO conversations (conversation_id, owner, title, created_at_ms, updated_at_ms, turn_count) VALUES (?, ?, ?, ?, ?, 0)",
    ),
    // max() keeps updated_at_ms from moving backwards if the wall clock does.
    touchConversation: db.prepare<[number, string]>(
      "UPDATE conversations SET updated_at_ms = max(updated_at_ms, ?), turn_count = turn_count + 1 WHERE conversation_id = ?",
    ),
    deleteScopedConversation: db.prepare<[ScopeParams & { id: string }]>(
      `DELETE FROM conversations WHERE conversation_id = @id AND ${inScope("conversations")}`,
    ),
    countTurns: db.prepare<[string], number>("SELECT COUNT(*) FROM turns WHERE conversation_id = ?").pluck(),
    nextSeq: db
      .prepare<[string], number>("SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE conversation_id = ?")
      .pluck(),
    insertTurn: db.prepare<[TurnRow]>(
      `INSERT INTO turns (turn_id, conversation_id, seq, message, answer, aggregation, latency_ms, started_at_ms, completed_at_ms, answered_by)
       VALUES (@turn_id, @conversation_id, @seq, @message, @answer, @aggregation, @latency_ms, @started_at_ms, @completed_at_ms, @answered_by)`,
    ),
    insertAnswer: db.prepare<[AgentAnswerRow]>(
      `INSERT INTO agent_answers (turn_id, position, agent, replica, text, ok, error, latency_ms, attempts, prompt_tokens, completion_tokens, cached)
       VALUES (@turn_id, @position, @agent, @replica, @text, @ok, @error, @latency_ms, @attempts, @prompt_tokens, @completion_tokens, @cached)`,
    ),
    // Unscoped on purpose: appendTurn tells a turn_id taken outside the scope from a new one.
    selectTurnWithOwner: db.prepare<[string], TurnRow & { owner: string }>(
      `SELECT t.*, c.owner AS owner FROM turns t JOIN conversations c ON c.conversation_id = t.conversation_id
       WHERE t.turn_id = ?`,
    ),
    selectScopedTurn: db.prepare<[ScopeParams & { id: string }], TurnRow>(
      `SELECT t.* FROM turns t JOIN conversations c ON c.conversation_id = t.conversation_id
       WHERE t.turn_id = @id AND ${inScope("c")}`,
    ),
    // Claims are the owner's own, so none of these is scoped beyond its owner.
    selectClaim: db.prepare<[string, string], { claim_id: string; expires_at_ms: number }>(
      "SELECT claim_id, expires_at_ms FROM turn_claims WHERE owner = ? AND turn_id = ?",
    ),
    upsertClaim: db.prepare<[string, string, string, number]>(
      `INSERT INTO turn_claims (owner, turn_id, claim_id, expires_at_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (owner, turn_id) DO UPDATE SET claim_id = excluded.claim_id, expires_at_ms = excluded.expires_at_ms`,
    ),
    deleteClaim: db.prepare<[string, string, string]>(
      "DELETE FROM turn_claims WHERE owner = ? AND turn_id = ? AND claim_id = ?",
    ),
    endClaims: db.prepare<[string, string]>("DELETE FROM turn_claims WHERE owner = ? AND turn_id = ?"),
    purgeExpiredClaims: db.prepare<[number]>("DELETE FROM turn_claims WHERE expires_at_ms <= ?"),
    selectAnswers: db.prepare<[string], AgentAnswerRow>(
      "SELECT * FROM agent_answers WHERE turn_id = ? ORDER BY position",
    ),
    // LIMIT -1 means no limit.
    selectScopedLastTurns: db.prepare<[ScopeParams & { id: string; limit: number }], TurnRow>(
      `SELECT * FROM (
         SELECT t.* FROM turns t JOIN conversations c ON c.conversation_id = t.conversation_id
         WHERE t.conversation_id = @id AND ${inScope("c")} ORDER BY t.seq DESC LIMIT @limit
       ) ORDER BY seq`,
    ),
    // Scoped itself: an export reads its batches in separate transactions.
    selectScopedTurnsAfter: db.prepare<[ScopeParams & { id: string; after: number; limit: number }], TurnRow>(
      `SELECT t.* FROM turns t JOIN conversations c ON c.conversation_id = t.conversation_id
       WHERE t.conversation_id = @id AND ${inScope("c")} AND t.seq > @after ORDER BY t.seq LIMIT @limit`,
    ),
    // Every owner's conversations (an admin's list) and one owner's, each along its own index.
    listFirst: db.prepare<[number], ConversationRow>(
      "SELECT * FROM conversations ORDER BY updated_at_ms DESC, conversation_id DESC LIMIT ?",
    ),
    listAfter: db.prepare<[number, string, number], ConversationRow>(
      `SELECT * FROM conversations WHERE (updated_at_ms, conversation_id) < (?, ?)
       ORDER BY updated_at_ms DESC, conversation_id DESC LIMIT ?`,
    ),
    listOwnedFirst: db.prepare<[string, number], ConversationRow>(
      "SELECT * FROM conversations WHERE owner = ? ORDER BY updated_at_ms DESC, conversation_id DESC LIMIT ?",
    ),
    listOwnedAfter: db.prepare<[string, number, string, number], ConversationRow>(
      `SELECT * FROM conversations WHERE owner = ? AND (updated_at_ms, conversation_id) < (?, ?)
       ORDER BY updated_at_ms DESC, conversation_id DESC LIMIT ?`,
    ),
    searchAll: db.prepare<[ScopeParams & { pattern: string; limit: number }], TurnRow>(
      `SELECT t.* FROM turns t JOIN conversations c ON c.conversation_id = t.conversation_id
       WHERE ${inScope("c")} AND (t.message LIKE @pattern ESCAPE '\\' OR t.answer LIKE @pattern ESCAPE '\\')
       ORDER BY t.completed_at_ms DESC, t.rowid DESC LIMIT @limit`,
    ),
    searchOne: db.prepare<[ScopeParams & { id: string; pattern: string; limit: number }], TurnRow>(
      `SELECT t.* FROM turns t JOIN conversations c ON c.conversation_id = t.conversation_id
       WHERE t.conversation_id = @id AND ${inScope("c")}
         AND (t.message LIKE @pattern ESCAPE '\\' OR t.answer LIKE @pattern ESCAPE '\\')
       ORDER BY t.completed_at_ms DESC, t.rowid DESC LIMIT @limit`,
    ),
  };
}

/** The prepared statements of one connection. */
export type Statements = ReturnType<typeof prepareStatements>;
