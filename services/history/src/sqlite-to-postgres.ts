import BetterSqlite3 from "better-sqlite3";
import type { Pool } from "pg";
import { openPostgresPool } from "./postgres-store.js";
import type { AgentAnswerRow, ConversationRow, TurnRow } from "./rows.js";
import { migrate as migrateSqlite } from "./sqlite-schema.js";

/** Rows read from SQLite and written to PostgreSQL per transaction. */
const BATCH = 500;

/** What one copy did, per table: rows written, and rows the database already held. */
export interface CopyCounts {
  readonly copied: number;
  readonly present: number;
}

/** The outcome of copySqliteToPostgres. */
export interface CopyReport {
  readonly conversations: CopyCounts;
  readonly turns: CopyCounts;
  readonly agentAnswers: CopyCounts;
}

// Each statement takes whole columns and skips a row whose key (or turn seq) is already there.
const INSERT_CONVERSATIONS = `INSERT INTO conversations (conversation_id, owner, title, created_at_ms, updated_at_ms, turn_count)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::int[])
  ON CONFLICT DO NOTHING RETURNING conversation_id`;
const INSERT_TURNS = `INSERT INTO turns (turn_id, conversation_id, seq, message, answer, aggregation, latency_ms,
    started_at_ms, completed_at_ms, answered_by)
  SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::int[], $7::float8[],
    $8::bigint[], $9::bigint[], $10::text[])
  ON CONFLICT DO NOTHING RETURNING turn_id`;
const INSERT_ANSWERS = `INSERT INTO agent_answers (turn_id, position, agent, replica, text, ok, error, latency_ms,
    attempts, prompt_tokens, completion_tokens, cached)
  SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::text[],
    $8::float8[], $9::int[], $10::int[], $11::int[], $12::boolean[])
  ON CONFLICT DO NOTHING`;
// A conversation this copy created counts the turns it really holds (a turn_id taken elsewhere was skipped).
const RECOUNT = `UPDATE conversations c SET turn_count = (SELECT count(*) FROM turns t WHERE t.conversation_id = c.conversation_id)
  WHERE c.conversation_id = ANY($1::text[])`;

/** The columns of `rows`, in `keys` order, as arrays for unnest. */
function columns<R>(rows: readonly R[], keys: readonly (keyof R)[]): unknown[][] {
  return keys.map((key) => rows.map((row) => row[key]));
}

async function inTransaction<T>(pool: Pool, work: (db: Pool["query"]) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client.query.bind(client) as Pool["query"]);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Copies every conversation, turn and agent answer of the SQLite history at `sqlitePath` into the
 * PostgreSQL database at `url` (migrating both schemas first), keeping owners, titles, timestamps,
 * seqs and the order turns were stored in. Idempotent: what the database already holds is skipped
 * and counted as present, so an interrupted copy is finished by running it again.
 */
export async function copySqliteToPostgres(sqlitePath: string, url: string): Promise<CopyReport> {
  let sqlite: BetterSqlite3.Database;
  try {
    sqlite = new BetterSqlite3(sqlitePath, { fileMustExist: true });
  } catch (err) {
    throw new Error(`${sqlitePath}: ${(err as Error).message}`);
  }
  let pool: Pool | undefined;
  try {
    sqlite.pragma("busy_timeout = 5000");
    migrateSqlite(sqlite);
    pool = await openPostgresPool(url, { poolSize: 2 });
    const { counts: conversations, created } = await copyConversations(sqlite, pool);
    const { turns, agentAnswers } = await copyTurns(sqlite, pool);
    for (let i = 0; i < created.length; i += BATCH) await pool.query(RECOUNT, [created.slice(i, i + BATCH)]);
    return { conversations, turns, agentAnswers };
  } finally {
    sqlite.close();
    await pool?.end();
  }
}

/** Copies the conversations; resolves to the counts and the ids this copy created. */
async function copyConversations(
  sqlite: BetterSqlite3.Database,
  pool: Pool,
): Promise<{ counts: CopyCounts; created: string[] }> {
  const read = sqlite.prepare<[number, number], ConversationRow & { rowid: number }>(
    "SELECT rowid, * FROM conversations WHERE rowid > ? ORDER BY rowid LIMIT ?",
  );
  const created: string[] = [];
  let seen = 0;
  for (let after = 0; ; ) {
    const rows = read.all(after, BATCH);
    if (rows.length === 0) break;
    seen += rows.length;
    after = rows.at(-1)?.rowid ?? after;
    const keys = [
      "conversation_id",
      "owner",
      "title",
      "created_at_ms",
      "updated_at_ms",
      "turn_count",
    ] as const;
    const result = await pool.query<{ conversation_id: string }>(INSERT_CONVERSATIONS, columns(rows, keys));
    created.push(...result.rows.map((row) => row.conversation_id));
  }
  return { counts: { copied: created.length, present: seen - created.length }, created };
}

/** Copies the turns with their agent answers, a batch per transaction. */
async function copyTurns(
  sqlite: BetterSqlite3.Database,
  pool: Pool,
): Promise<{ turns: CopyCounts; agentAnswers: CopyCounts }> {
  // rowid order is SQLite's order of storing: turns completed in the same millisecond keep it.
  const read = sqlite.prepare<[number, number], TurnRow & { rowid: number }>(
    "SELECT rowid, * FROM turns WHERE rowid > ? ORDER BY rowid LIMIT ?",
  );
  const answersOf = sqlite.prepare<[string], AgentAnswerRow>(
    "SELECT * FROM agent_answers WHERE turn_id = ? ORDER BY position",
  );
  let turns = { copied: 0, present: 0 };
  let answers = { copied: 0, present: 0 };
  for (let after = 0; ; ) {
    const rows = read.all(after, BATCH);
    if (rows.length === 0) break;
    after = rows.at(-1)?.rowid ?? after;
    const batch = await inTransaction(pool, async (query) => {
      const keys = [
        ...["turn_id", "conversation_id", "seq", "message", "answer", "aggregation", "latency_ms"],
        ...["started_at_ms", "completed_at_ms", "answered_by"],
      ] as (keyof TurnRow)[];
      const inserted = await query<{ turn_id: string }>(INSERT_TURNS, columns(rows, keys));
      const copied = new Set(inserted.rows.map((row) => row.turn_id));
      const all = rows.flatMap((row) => answersOf.all(row.turn_id));
      const fresh = all.filter((answer) => copied.has(answer.turn_id));
      const answerKeys = [
        ...["turn_id", "position", "agent", "replica", "text", "ok", "error", "latency_ms", "attempts"],
        ...["prompt_tokens", "completion_tokens", "cached"],
      ] as (keyof AgentAnswerRow)[];
      const values = columns(fresh, answerKeys);
      // SQLite's 0/1 as booleans.
      values[5] = fresh.map((answer) => answer.ok !== 0);
      values[11] = fresh.map((answer) => answer.cached !== 0);
      if (fresh.length > 0) await query(INSERT_ANSWERS, values);
      return { copied: copied.size, answers: fresh.length, allAnswers: all.length };
    });
    turns = { copied: turns.copied + batch.copied, present: turns.present + rows.length - batch.copied };
    answers = {
      copied: answers.copied + batch.answers,
      present: answers.present + batch.allAnswers - batch.answers,
    };
  }
  return { turns, agentAnswers: answers };
}
