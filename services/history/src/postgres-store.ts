import type { Turn } from "@chorus/proto";
import { HISTORY_DATABASE_UNAVAILABLE, type Logger, RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import pg, { type Pool, type PoolClient, type QueryResultRow } from "pg";
import type { PageCursor } from "./page-token.js";
import { answerRowsOf, foldAscii, type PostgresTurnRow, SQL, scopeValues } from "./postgres-queries.js";
import { migrate } from "./postgres-schema.js";
import { answerRowOf, type ConversationRow, conversationOf, turnOf, turnRowOf } from "./rows.js";
import {
  type AppendItem,
  type AppendOutcome,
  type AppendResult,
  type ClaimResult,
  type ConversationPage,
  type ConversationWithTurns,
  type PrepareResult,
  type Scope,
  type Store,
  type TurnClaim,
  TurnIdTakenError,
} from "./store.js";
import { titleOf } from "./title.js";

/** Turns read per statement while exporting. */
const EXPORT_BATCH = 100;
/** Attempts of one append that lost a race (the same turn_id stored meanwhile, or a deadlock). */
const APPEND_ATTEMPTS = 3;
/** How often one store removes claims whose leases ran out (they only take up room meanwhile). */
const PURGE_CLAIMS_EVERY_MS = 60_000;

/** SQLSTATEs and socket errors that mean the database cannot be reached now, not that the call is wrong. */
const UNREACHABLE_STATES = /^(08|57P0[123]|53300)/;
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
const UNREACHABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|not queryable/i;

/** True when `err` says the database is out of reach (down, restarting, full, or the network). */
export function isUnreachable(err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === "string" && (UNREACHABLE_STATES.test(code) || UNREACHABLE_CODES.has(code))) return true;
  return typeof message === "string" && UNREACHABLE_MESSAGES.test(message);
}

/** A race another writer won: retrying the whole transaction gives the right answer. */
function lostRace(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === "23505" || code === "40P01" || code === "40001";
}

function inScope(scope: Scope, owner: string): boolean {
  return scope.admin || owner === scope.owner;
}

function turnOfRow(row: PostgresTurnRow): Turn {
  return turnOf(row, answerRowsOf(row));
}

/** int8 (BIGINT, COUNT) as a JS number: every stored value is below 2^53 (requests.ts checks). */
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === pg.types.builtins.INT8
      ? Number
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Options of openPostgresStore. */
export interface PostgresStoreOptions {
  /** Clock for conversation timestamps, in milliseconds since the Unix epoch. */
  readonly now?: () => number;
  /** Most connections in the pool. */
  readonly poolSize?: number;
  readonly connectTimeoutMs?: number;
  readonly statementTimeoutMs?: number;
  /** Where an unreachable database is logged (the caller sees only UNAVAILABLE). */
  readonly log?: Logger;
}

/**
 * A Store in a PostgreSQL database that any number of history replicas share. Appends to one
 * conversation queue on its row lock, so replicas never give two turns the same seq.
 */
export class PostgresStore implements Store {
  private readonly now: () => number;
  private claimsPurgedAtMs = 0;

  constructor(
    private readonly pool: Pool,
    private readonly options: PostgresStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async appendTurn(scope: Scope, turn: Turn, createConversation: boolean): Promise<AppendResult | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transaction((db) => this.appendOnce(db, scope, turn, createConversation));
      } catch (err) {
        if (attempt >= APPEND_ATTEMPTS || !lostRace(err)) throw err;
      }
    }
  }

  /**
   * One transaction on one connection; each item under a savepoint, so a failed one is undone
   * alone (one that lost a race is tried again in the same transaction). Items are taken in
   * conversation order, so two replicas' batches lock conversations in the same order.
   */
  async appendTurns(items: readonly AppendItem[]): Promise<AppendOutcome[]> {
    const order = items
      .map((item, index) => ({ item, index }))
      .sort((a, b) =>
        a.item.turn.conversationId < b.item.turn.conversationId
          ? -1
          : a.item.turn.conversationId > b.item.turn.conversationId
            ? 1
            : a.index - b.index,
      );
    const outcomes: AppendOutcome[] = new Array(items.length);
    await this.transaction(async (db) => {
      for (const { item, index } of order) outcomes[index] = await this.appendUnderSavepoint(db, item);
    });
    return outcomes;
  }

  /**
   * Takes the claim row first, then looks for the stored turn in a later snapshot, so a turn
   * stored (and its claim ended) while this claim was being taken is still found.
   */
  async claimTurn(scope: Scope, turnId: string, claimId: string, leaseMs: number): Promise<ClaimResult> {
    const now = this.now();
    const result = await this.transaction((db) => this.claimIn(db, scope, { turnId, claimId, leaseMs }, now));
    await this.purgeClaims(now);
    return result;
  }

  /**
   * Claims as claimTurn does, then reads the context in the same transaction; a conversation
   * outside the scope gives back the claim just taken, so nothing stays claimed.
   */
  async prepareTurn(
    scope: Scope,
    claim: TurnClaim | undefined,
    conversationId: string | undefined,
    lastTurns: number,
  ): Promise<PrepareResult | undefined> {
    if (!claim) {
      if (conversationId === undefined) return { claim: undefined, context: undefined };
      const context = await this.getConversation(scope, conversationId, lastTurns);
      return context ? { claim: undefined, context } : undefined;
    }
    const now = this.now();
    const result = await this.transaction(async (db): Promise<PrepareResult | undefined> => {
      const claimed = await this.claimIn(db, scope, claim, now);
      if (claimed.state === "stored" || conversationId === undefined)
        return { claim: claimed, context: undefined };
      const params = [...scopeValues(scope), conversationId];
      const [found] = await query<ConversationRow>(db, SQL.scopedConversation, params);
      if (!found) {
        if (claimed.state === "claimed")
          await db.query(SQL.releaseClaim, [scope.owner, claim.turnId, claim.claimId]);
        return undefined;
      }
      if (claimed.state === "held") return { claim: claimed, context: undefined };
      const rows = await query<PostgresTurnRow>(db, SQL.scopedLastTurns, [
        ...params,
        lastTurns > 0 ? lastTurns : null,
      ]);
      return { claim: claimed, context: { conversation: conversationOf(found), turns: rows.map(turnOfRow) } };
    });
    await this.purgeClaims(now);
    return result;
  }

  /** claimTurn's decision inside the caller's transaction. */
  private async claimIn(db: PoolClient, scope: Scope, claim: TurnClaim, now: number): Promise<ClaimResult> {
    const { turnId, claimId } = claim;
    const values = [scope.owner, turnId, claimId, now + claim.leaseMs, now];
    const [mine] = await query(db, SQL.claimTurn, values);
    const [stored] = await query<PostgresTurnRow & { owner: string }>(db, SQL.turnWithOwner, [turnId]);
    if (stored && !inScope(scope, stored.owner)) throw new TurnIdTakenError(turnId);
    if (stored) {
      if (mine) await db.query(SQL.releaseClaim, [scope.owner, turnId, claimId]);
      return { state: "stored", turn: turnOfRow(stored) };
    }
    if (mine) return { state: "claimed" };
    // Gone since the upsert looked (its turn stored or released): the caller asks again at once.
    const [held] = await query<{ expires_at_ms: number }>(db, SQL.claimExpiry, [scope.owner, turnId]);
    return { state: "held", retryAfterMs: Math.max(0, (held?.expires_at_ms ?? now) - now) };
  }

  /** Removes claims whose leases ran out, once per PURGE_CLAIMS_EVERY_MS. */
  private async purgeClaims(now: number): Promise<void> {
    if (now - this.claimsPurgedAtMs < PURGE_CLAIMS_EVERY_MS) return;
    this.claimsPurgedAtMs = now;
    await this.rows(SQL.purgeExpiredClaims, [now]);
  }

  /** One item of appendTurns under a savepoint; its failure is returned, the transaction goes on. */
  private async appendUnderSavepoint(db: PoolClient, item: AppendItem): Promise<AppendOutcome> {
    for (let attempt = 1; ; attempt++) {
      await db.query("SAVEPOINT append_item");
      try {
        const result = await this.appendOnce(db, item.scope, item.turn, item.createConversation);
        await db.query("RELEASE SAVEPOINT append_item");
        return { ok: true, result };
      } catch (error) {
        // A connection that cannot roll back to the savepoint fails the whole transaction.
        await db.query("ROLLBACK TO SAVEPOINT append_item; RELEASE SAVEPOINT append_item");
        if (attempt >= APPEND_ATTEMPTS || !lostRace(error)) return { ok: false, error: this.mapped(error) };
      }
    }
  }

  async releaseTurn(scope: Scope, turnId: string, claimId: string): Promise<boolean> {
    try {
      return ((await this.pool.query(SQL.releaseClaim, [scope.owner, turnId, claimId])).rowCount ?? 0) > 0;
    } catch (err) {
      throw this.mapped(err);
    }
  }

  async getTurn(scope: Scope, turnId: string): Promise<Turn | undefined> {
    const rows = await this.rows<PostgresTurnRow>(SQL.scopedTurn, [...scopeValues(scope), turnId]);
    return rows[0] ? turnOfRow(rows[0]) : undefined;
  }

  async getConversation(
    scope: Scope,
    conversationId: string,
    lastTurns: number,
  ): Promise<ConversationWithTurns | undefined> {
    return this.transaction(async (db) => {
      const params = [...scopeValues(scope), conversationId];
      const found = await query<ConversationRow>(db, SQL.scopedConversation, params);
      if (!found[0]) return undefined;
      const rows = await query<PostgresTurnRow>(db, SQL.scopedLastTurns, [
        ...params,
        lastTurns > 0 ? lastTurns : null,
      ]);
      return { conversation: conversationOf(found[0]), turns: rows.map(turnOfRow) };
    }, "snapshot");
  }

  async listConversations(
    scope: Scope,
    pageSize: number,
    after: PageCursor | undefined,
  ): Promise<ConversationPage> {
    // One extra row tells whether another page follows.
    const rows = await this.rows<ConversationRow>(SQL.listConversations, [
      ...scopeValues(scope),
      after?.updatedAtMs ?? null,
      after?.conversationId ?? null,
      pageSize + 1,
    ]);
    const page = rows.slice(0, pageSize);
    const last = page.at(-1);
    const next =
      rows.length > pageSize && last
        ? { updatedAtMs: last.updated_at_ms, conversationId: last.conversation_id }
        : undefined;
    return { conversations: page.map(conversationOf), next };
  }

  async searchTurns(
    scope: Scope,
    text: string,
    conversationId: string | undefined,
    limit: number,
  ): Promise<Turn[] | undefined> {
    const params = [...scopeValues(scope), foldAscii(text), limit];
    if (conversationId === undefined)
      return (await this.rows<PostgresTurnRow>(SQL.searchAll, params)).map(turnOfRow);
    return this.transaction(async (db) => {
      const found = await query(db, SQL.scopedConversation, [...scopeValues(scope), conversationId]);
      if (!found[0]) return undefined;
      return (await query<PostgresTurnRow>(db, SQL.searchOne, [...params, conversationId])).map(turnOfRow);
    }, "snapshot");
  }

  async deleteConversation(scope: Scope, conversationId: string): Promise<number | undefined> {
    // Turns and their agent answers go with it (ON DELETE CASCADE).
    const rows = await this.rows<{ turns: number }>(SQL.deleteScopedConversation, [
      ...scopeValues(scope),
      conversationId,
    ]);
    return rows[0]?.turns;
  }

  async *iterateTurns(scope: Scope, conversationId: string): AsyncIterable<Turn> {
    let after = 0;
    for (;;) {
      const batch = await this.rows<PostgresTurnRow>(SQL.scopedTurnsAfter, [
        ...scopeValues(scope),
        conversationId,
        after,
        EXPORT_BATCH,
      ]);
      yield* batch.map(turnOfRow);
      const last = batch.at(-1);
      if (batch.length < EXPORT_BATCH || !last) return;
      after = last.seq;
    }
  }

  async conversationExists(scope: Scope, conversationId: string): Promise<boolean> {
    const rows = await this.rows(SQL.scopedConversation, [...scopeValues(scope), conversationId]);
    return rows.length > 0;
  }

  /** Closes every connection of the pool. */
  async close(): Promise<void> {
    if (this.pool.ended) return;
    await this.pool.end();
  }

  /**
   * One append, in a transaction holding the conversation's row lock from before its seq is read
   * until the turn is committed. Answers exactly as SqliteStore.appendTurn does.
   */
  private async appendOnce(
    db: PoolClient,
    scope: Scope,
    turn: Turn,
    createConversation: boolean,
  ): Promise<AppendResult | undefined> {
    const [stored] = await query<PostgresTurnRow & { owner: string }>(db, SQL.turnWithOwner, [turn.turnId]);
    if (stored && inScope(scope, stored.owner)) return { turn: turnOfRow(stored), created: false };
    const now = this.now();
    const id = turn.conversationId;
    let [conversation] = await query<ConversationRow>(db, SQL.lockConversation, [id]);
    if (!conversation && createConversation && !stored) {
      // Another replica may be creating it this very moment: ON CONFLICT waits for it, then the
      // lock below finds its row (and its owner, who may not be this scope).
      await db.query(SQL.insertConversation, [id, scope.owner, titleOf(turn.message), now]);
      [conversation] = await query<ConversationRow>(db, SQL.lockConversation, [id]);
    }
    if (conversation ? !inScope(scope, conversation.owner) : !createConversation) return undefined;
    if (stored) throw new TurnIdTakenError(turn.turnId);
    const [next] = await query<{ seq: number }>(db, SQL.nextSeq, [id]);
    const row = turnRowOf(turn, next?.seq ?? 1);
    await db.query(SQL.insertTurn, [
      row.turn_id,
      row.conversation_id,
      row.seq,
      row.message,
      row.answer,
      row.aggregation,
      row.latency_ms,
      row.started_at_ms,
      row.completed_at_ms,
      row.answered_by,
    ]);
    const answers = turn.agentAnswers.map((answer, position) => answerRowOf(turn.turnId, position, answer));
    if (answers.length > 0) {
      const column = <K extends keyof (typeof answers)[number]>(key: K) => answers.map((a) => a[key]);
      await db.query(SQL.insertAnswers, [
        turn.turnId,
        column("position"),
        column("agent"),
        column("replica"),
        column("text"),
        answers.map((a) => a.ok !== 0),
        column("error"),
        column("latency_ms"),
        column("attempts"),
        column("prompt_tokens"),
        column("completion_tokens"),
        answers.map((a) => a.cached !== 0),
      ]);
    }
    await db.query(SQL.touchConversation, [now, id]);
    await db.query(SQL.endClaims, [scope.owner, turn.turnId]);
    // The rows just written are what a read would return.
    return { turn: turnOf(row, answers), created: true };
  }

  /** Runs one statement on any pooled connection. */
  private async rows<R extends QueryResultRow>(sql: string, params: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (err) {
      throw this.mapped(err);
    }
  }

  /**
   * Runs `work` in one transaction: read committed with row locks for writes, or a read-only
   * repeatable-read snapshot so several reads see one state.
   */
  private async transaction<T>(
    work: (db: PoolClient) => Promise<T>,
    mode: "write" | "snapshot" = "write",
  ): Promise<T> {
    let db: PoolClient;
    try {
      db = await this.pool.connect();
    } catch (err) {
      throw this.mapped(err);
    }
    let broken = false;
    try {
      await db.query(mode === "snapshot" ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN");
      const result = await work(db);
      await db.query("COMMIT");
      return result;
    } catch (err) {
      await db.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw this.mapped(err);
    } finally {
      // A connection that cannot even roll back is dropped, not handed to the next call.
      db.release(broken);
    }
  }

  /** An unreachable database becomes UNAVAILABLE (so the orchestrator retries another replica). */
  private mapped(err: unknown): unknown {
    if (!isUnreachable(err)) return err;
    this.options.log?.warn({ err: (err as Error).message }, "PostgreSQL unreachable");
    return new RpcError(status.UNAVAILABLE, HISTORY_DATABASE_UNAVAILABLE);
  }
}

async function query<R extends QueryResultRow>(db: PoolClient, sql: string, params: unknown[]): Promise<R[]> {
  return (await db.query<R>(sql, params)).rows;
}

/** Opens a pool on `url` and migrates the database to the current schema; the caller ends the pool. */
export async function openPostgresPool(url: string, options: PostgresStoreOptions = {}): Promise<Pool> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    statement_timeout: options.statementTimeoutMs ?? 10_000,
    application_name: "chorus-history",
    types,
  });
  // An idle connection the server closed emits here; without a listener it would crash the process.
  pool.on("error", (err) => options.log?.warn({ err: err.message }, "PostgreSQL connection lost"));
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end();
    throw err;
  }
  return pool;
}

/** Opens a pool on `url`, migrates the database to the current schema, and returns the store. */
export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<PostgresStore> {
  return new PostgresStore(await openPostgresPool(url, options), options);
}
