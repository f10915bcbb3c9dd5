import type { Database } from "better-sqlite3";
import type { AgentAnswerRow, ConversationRow, TurnRow } from "./sqlite-rows.js";

/** Escapes LIKE wildcards so `text` matches literally (with ESCAPE '\'). */
export function likeLiteral(text: string): string {
  return `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/** Prepares every statement the SQLite store runs, once per connection. */
export function prepareStatements(db: Database) {
  return {
    selectConversation: db.prepare<[string], ConversationRow>(
      "SELECT * FROM conversations WHERE conversation_id = ?",
    ),
    insertConversation: db.prepare<[string, string, number, number]>(
      "INSERT INTO conversations (conversation_id, title, created_at_ms, updated_at_ms, turn_count) VALUES (?, ?, ?, ?, 0)",
    ),
    // max() keeps updated_at_ms from moving backwards if the wall clock does.
    touchConversation: db.prepare<[number, string]>(
      "UPDATE conversations SET updated_at_ms = max(updated_at_ms, ?), turn_count = turn_count + 1 WHERE conversation_id = ?",
    ),
    deleteConversation: db.prepare<[string]>("DELETE FROM conversations WHERE conversation_id = ?"),
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
    selectTurn: db.prepare<[string], TurnRow>("SELECT * FROM turns WHERE turn_id = ?"),
    selectAnswers: db.prepare<[string], AgentAnswerRow>(
      "SELECT * FROM agent_answers WHERE turn_id = ? ORDER BY position",
    ),
    // LIMIT -1 means no limit in SQLite.
    selectLastTurns: db.prepare<[string, number], TurnRow>(
      "SELECT * FROM (SELECT * FROM turns WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq",
    ),
    selectTurnsAfter: db.prepare<[string, number, number], TurnRow>(
      "SELECT * FROM turns WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
    ),
    listFirst: db.prepare<[number], ConversationRow>(
      "SELECT * FROM conversations ORDER BY updated_at_ms DESC, conversation_id DESC LIMIT ?",
    ),
    listAfter: db.prepare<[number, string, number], ConversationRow>(
      `SELECT * FROM conversations WHERE (updated_at_ms, conversation_id) < (?, ?)
       ORDER BY updated_at_ms DESC, conversation_id DESC LIMIT ?`,
    ),
    searchAll: db.prepare<[string, string, number], TurnRow>(
      `SELECT * FROM turns WHERE message LIKE ? ESCAPE '\\' OR answer LIKE ? ESCAPE '\\'
       ORDER BY completed_at_ms DESC, rowid DESC LIMIT ?`,
    ),
    searchOne: db.prepare<[string, string, string, number], TurnRow>(
      `SELECT * FROM turns WHERE conversation_id = ? AND (message LIKE ? ESCAPE '\\' OR answer LIKE ? ESCAPE '\\')
       ORDER BY completed_at_ms DESC, rowid DESC LIMIT ?`,
    ),
  };
}

/** The prepared statements of one connection. */
export type Statements = ReturnType<typeof prepareStatements>;
