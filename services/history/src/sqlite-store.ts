import type { Turn } from "@chorus/proto";
import BetterSqlite3, { type Database } from "better-sqlite3";
import type { PageCursor } from "./page-token.js";
import { answerRowOf, conversationOf, type TurnRow, turnOf, turnRowOf } from "./rows.js";
import { migrate } from "./sqlite-schema.js";
import { likeLiteral, prepareStatements, type Statements, scopeParams } from "./sqlite-statements.js";
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

/**
 * Turns read per query while exporting; a better-sqlite3 cursor left open across awaits would
 * block every other statement on the connection until the client finished reading.
 */
const EXPORT_BATCH = 100;

/** True when a conversation of `owner` is in `scope`. */
function inScope(scope: Scope, owner: string): boolean {
  return scope.admin || owner === scope.owner;
}

/** Options of openSqliteStore. */
export interface SqliteStoreOptions {
  /** Clock for conversation timestamps, in milliseconds since the Unix epoch. */
  readonly now?: () => number;
  /** How long a write waits for another connection's lock before failing. */
  readonly busyTimeoutMs?: number;
}

/** A Store in one SQLite file (WAL), safe to share between processes. */
export class SqliteStore implements Store {
  private readonly statements: Statements;
  private readonly now: () => number;
  /** One append under a savepoint: nested in appendTurns' transaction, better-sqlite3 makes it one. */
  private readonly appendItem: (item: AppendItem) => AppendResult | undefined;

  constructor(
    private readonly db: Database,
    options: SqliteStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.statements = prepareStatements(db);
    this.appendItem = db.transaction((item: AppendItem) =>
      this.appendRows(item.scope, item.turn, item.createConversation),
    );
  }

  /**
   * Appends in one IMMEDIATE transaction, so concurrent writers never get the same seq. A
   * conversation outside the scope answers undefined whether or not it may be created.
   */
  async appendTurn(scope: Scope, turn: Turn, createConversation: boolean): Promise<AppendResult | undefined> {
    return this.db.transaction(() => this.appendRows(scope, turn, createConversation)).immediate();
  }

  /** One IMMEDIATE transaction; each item under a savepoint of its own, so a failed one is undone alone. */
  async appendTurns(items: readonly AppendItem[]): Promise<AppendOutcome[]> {
    return this.db
      .transaction(() =>
        items.map((item): AppendOutcome => {
          try {
            return { ok: true, result: this.appendItem(item) };
          } catch (error) {
            return { ok: false, error };
          }
        }),
      )
      .immediate();
  }

  /** Decides in one IMMEDIATE transaction, so two claimers never both get the same turn_id. */
  async claimTurn(scope: Scope, turnId: string, claimId: string, leaseMs: number): Promise<ClaimResult> {
    return this.db
      .transaction(
        (): ClaimResult =>
          this.storedClaim(scope, turnId) ?? this.takeClaim(scope, { turnId, claimId, leaseMs }),
      )
      .immediate();
  }

  /** IMMEDIATE when it claims (as claimTurn), a plain read transaction when it only reads context. */
  async prepareTurn(
    scope: Scope,
    claim: TurnClaim | undefined,
    conversationId: string | undefined,
    lastTurns: number,
  ): Promise<PrepareResult | undefined> {
    const prepare = this.db.transaction((): PrepareResult | undefined => {
      const stored = claim ? this.storedClaim(scope, claim.turnId) : undefined;
      if (stored) return { claim: stored, context: undefined };
      const context =
        conversationId === undefined ? undefined : this.readConversation(scope, conversationId, lastTurns);
      if (conversationId !== undefined && !context) return undefined;
      if (!claim) return { claim: undefined, context };
      const result = this.takeClaim(scope, claim);
      return { claim: result, context: result.state === "claimed" ? context : undefined };
    });
    return claim ? prepare.immediate() : prepare();
  }

  async releaseTurn(scope: Scope, turnId: string, claimId: string): Promise<boolean> {
    return this.statements.deleteClaim.run(scope.owner, turnId, claimId).changes > 0;
  }

  async getTurn(scope: Scope, turnId: string): Promise<Turn | undefined> {
    return this.db.transaction(() => {
      const row = this.statements.selectScopedTurn.get({ ...scopeParams(scope), id: turnId });
      return row ? this.withAnswers(row) : undefined;
    })();
  }

  async getConversation(
    scope: Scope,
    conversationId: string,
    lastTurns: number,
  ): Promise<ConversationWithTurns | undefined> {
    return this.db.transaction(() => this.readConversation(scope, conversationId, lastTurns))();
  }

  async listConversations(
    scope: Scope,
    pageSize: number,
    after: PageCursor | undefined,
  ): Promise<ConversationPage> {
    const s = this.statements;
    // One extra row tells whether another page follows.
    const limit = pageSize + 1;
    const rows = scope.admin
      ? after
        ? s.listAfter.all(after.updatedAtMs, after.conversationId, limit)
        : s.listFirst.all(limit)
      : after
        ? s.listOwnedAfter.all(scope.owner, after.updatedAtMs, after.conversationId, limit)
        : s.listOwnedFirst.all(scope.owner, limit);
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
    query: string,
    conversationId: string | undefined,
    limit: number,
  ): Promise<Turn[] | undefined> {
    return this.db.transaction(() => {
      const params = { ...scopeParams(scope), pattern: likeLiteral(query), limit };
      if (conversationId === undefined) {
        return this.statements.searchAll.all(params).map((row) => this.withAnswers(row));
      }
      const one = { ...params, id: conversationId };
      if (!this.statements.selectScopedConversation.get(one)) return undefined;
      return this.statements.searchOne.all(one).map((row) => this.withAnswers(row));
    })();
  }

  async deleteConversation(scope: Scope, conversationId: string): Promise<number | undefined> {
    return this.db
      .transaction(() => {
        const params = { ...scopeParams(scope), id: conversationId };
        if (!this.statements.selectScopedConversation.get(params)) return undefined;
        const turns = this.statements.countTurns.get(conversationId) ?? 0;
        // Turns and their agent answers go with it (ON DELETE CASCADE).
        this.statements.deleteScopedConversation.run(params);
        return turns;
      })
      .immediate();
  }

  async *iterateTurns(scope: Scope, conversationId: string): AsyncIterable<Turn> {
    const params = { ...scopeParams(scope), id: conversationId, limit: EXPORT_BATCH };
    let after = 0;
    // A closed database means the service is shutting down and the call is already cancelled.
    while (this.db.open) {
      const batch = this.db.transaction(() =>
        this.statements.selectScopedTurnsAfter.all({ ...params, after }).map((row) => this.withAnswers(row)),
      )();
      yield* batch;
      const last = batch.at(-1);
      if (batch.length < EXPORT_BATCH || !last) return;
      after = last.seq;
    }
  }

  async conversationExists(scope: Scope, conversationId: string): Promise<boolean> {
    const params = { ...scopeParams(scope), id: conversationId };
    return this.statements.selectScopedConversation.get(params) !== undefined;
  }

  /** Optimizes the query planner statistics and closes the database. */
  close(): void {
    if (!this.db.open) return;
    this.db.pragma("optimize");
    this.db.close();
  }

  /** Writes one turn (inside the caller's transaction); answers as appendTurn does. */
  private appendRows(scope: Scope, turn: Turn, createConversation: boolean): AppendResult | undefined {
    const s = this.statements;
    const stored = s.selectTurnWithOwner.get(turn.turnId);
    if (stored && inScope(scope, stored.owner)) return { turn: this.withAnswers(stored), created: false };
    const conversation = s.selectConversation.get(turn.conversationId);
    if (conversation ? !inScope(scope, conversation.owner) : !createConversation) return undefined;
    if (stored) throw new TurnIdTakenError(turn.turnId);
    const now = this.now();
    if (!conversation) {
      s.insertConversation.run(turn.conversationId, scope.owner, titleOf(turn.message), now, now);
    }
    const seq = s.nextSeq.get(turn.conversationId) ?? 1;
    const row = turnRowOf(turn, seq);
    s.insertTurn.run(row);
    const answers = turn.agentAnswers.map((answer, position) => answerRowOf(turn.turnId, position, answer));
    for (const answer of answers) s.insertAnswer.run(answer);
    s.touchConversation.run(now, turn.conversationId);
    s.endClaims.run(scope.owner, turn.turnId);
    // The rows just written are what a read would return; building the turn from them spares
    // two queries per write.
    return { turn: turnOf(row, answers), created: true };
  }

  /** The stored turn as a claim's outcome (undefined when not stored); TurnIdTakenError outside the scope. */
  private storedClaim(scope: Scope, turnId: string): ClaimResult | undefined {
    const stored = this.statements.selectTurnWithOwner.get(turnId);
    if (!stored) return undefined;
    if (!inScope(scope, stored.owner)) throw new TurnIdTakenError(turnId);
    return { state: "stored", turn: this.withAnswers(stored) };
  }

  /** Takes, renews or finds held a claim on a turn_id that is not stored (inside the caller's transaction). */
  private takeClaim(scope: Scope, claim: TurnClaim): ClaimResult {
    const s = this.statements;
    const now = this.now();
    s.purgeExpiredClaims.run(now);
    const held = s.selectClaim.get(scope.owner, claim.turnId);
    if (held && held.claim_id !== claim.claimId && held.expires_at_ms > now) {
      return { state: "held", retryAfterMs: held.expires_at_ms - now };
    }
    s.upsertClaim.run(scope.owner, claim.turnId, claim.claimId, now + claim.leaseMs);
    return { state: "claimed" };
  }

  /** A conversation in the scope with its latest `lastTurns` turns (inside the caller's transaction). */
  private readConversation(
    scope: Scope,
    conversationId: string,
    lastTurns: number,
  ): ConversationWithTurns | undefined {
    const params = { ...scopeParams(scope), id: conversationId };
    const row = this.statements.selectScopedConversation.get(params);
    if (!row) return undefined;
    const rows = this.statements.selectScopedLastTurns.all({
      ...params,
      limit: lastTurns > 0 ? lastTurns : -1,
    });
    return { conversation: conversationOf(row), turns: rows.map((turn) => this.withAnswers(turn)) };
  }

  private withAnswers(row: TurnRow): Turn {
    return turnOf(row, this.statements.selectAnswers.all(row.turn_id));
  }
}

/** Opens (creating and migrating as needed) the SQLite store at `path`. */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  const db = new BetterSqlite3(path);
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    db.pragma("journal_mode = WAL");
    // NORMAL is durable across process crashes in WAL mode; only a power loss can drop the last commits.
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    migrate(db);
    return new SqliteStore(db, options);
  } catch (err) {
    db.close();
    throw err;
  }
}
