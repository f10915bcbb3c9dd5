import type { Turn } from "@chorus/proto";
import BetterSqlite3, { type Database } from "better-sqlite3";
import type { PageCursor } from "./page-token.js";
import { answerRowOf, conversationOf, type TurnRow, turnOf, turnRowOf } from "./rows.js";
import { migrate } from "./sqlite-schema.js";
import { likeLiteral, prepareStatements, type Statements, scopeParams } from "./sqlite-statements.js";
import {
  type AppendResult,
  type ClaimResult,
  type ConversationPage,
  type ConversationWithTurns,
  type Scope,
  type Store,
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

  constructor(
    private readonly db: Database,
    options: SqliteStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.statements = prepareStatements(db);
  }

  /**
   * Appends in one IMMEDIATE transaction, so concurrent writers never get the same seq. A
   * conversation outside the scope answers undefined whether or not it may be created.
   */
  async appendTurn(scope: Scope, turn: Turn, createConversation: boolean): Promise<AppendResult | undefined> {
    return this.db
      .transaction((): AppendResult | undefined => {
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
        const answers = turn.agentAnswers.map((answer, position) =>
          answerRowOf(turn.turnId, position, answer),
        );
        for (const answer of answers) s.insertAnswer.run(answer);
        s.touchConversation.run(now, turn.conversationId);
        s.endClaims.run(scope.owner, turn.turnId);
        // The rows just written are what a read would return; building the turn from them spares
        // two queries per write.
        return { turn: turnOf(row, answers), created: true };
      })
      .immediate();
  }

  /** Decides in one IMMEDIATE transaction, so two claimers never both get the same turn_id. */
  async claimTurn(scope: Scope, turnId: string, claimId: string, leaseMs: number): Promise<ClaimResult> {
    return this.db
      .transaction((): ClaimResult => {
        const s = this.statements;
        const stored = s.selectTurnWithOwner.get(turnId);
        if (stored && inScope(scope, stored.owner))
          return { state: "stored", turn: this.withAnswers(stored) };
        if (stored) throw new TurnIdTakenError(turnId);
        const now = this.now();
        s.purgeExpiredClaims.run(now);
        const held = s.selectClaim.get(scope.owner, turnId);
        if (held && held.claim_id !== claimId && held.expires_at_ms > now) {
          return { state: "held", retryAfterMs: held.expires_at_ms - now };
        }
        s.upsertClaim.run(scope.owner, turnId, claimId, now + leaseMs);
        return { state: "claimed" };
      })
      .immediate();
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
    return this.db.transaction(() => {
      const params = { ...scopeParams(scope), id: conversationId };
      const row = this.statements.selectScopedConversation.get(params);
      if (!row) return undefined;
      const rows = this.statements.selectScopedLastTurns.all({
        ...params,
        limit: lastTurns > 0 ? lastTurns : -1,
      });
      return { conversation: conversationOf(row), turns: rows.map((turn) => this.withAnswers(turn)) };
    })();
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
