import type { Turn } from "@chorus/proto";
import BetterSqlite3, { type Database } from "better-sqlite3";
import type { PageCursor } from "./page-token.js";
import { answerRowOf, conversationOf, type TurnRow, turnOf, turnRowOf } from "./sqlite-rows.js";
import { migrate } from "./sqlite-schema.js";
import { likeLiteral, prepareStatements, type Statements } from "./sqlite-statements.js";
import type { AppendResult, ConversationPage, ConversationWithTurns, Store } from "./store.js";
import { titleOf } from "./title.js";

/**
 * Turns read per query while exporting; a better-sqlite3 cursor left open across awaits would
 * block every other statement on the connection until the client finished reading.
 */
const EXPORT_BATCH = 100;

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

  /** Appends in one IMMEDIATE transaction, so concurrent writers never get the same seq. */
  async appendTurn(turn: Turn, createConversation: boolean): Promise<AppendResult | undefined> {
    return this.db
      .transaction((): AppendResult | undefined => {
        const s = this.statements;
        const stored = this.readTurn(turn.turnId);
        if (stored) return { turn: stored, created: false };
        const now = this.now();
        if (!s.selectConversation.get(turn.conversationId)) {
          if (!createConversation) return undefined;
          s.insertConversation.run(turn.conversationId, titleOf(turn.message), now, now);
        }
        const seq = s.nextSeq.get(turn.conversationId) ?? 1;
        const row = turnRowOf(turn, seq);
        s.insertTurn.run(row);
        const answers = turn.agentAnswers.map((answer, position) =>
          answerRowOf(turn.turnId, position, answer),
        );
        for (const answer of answers) s.insertAnswer.run(answer);
        s.touchConversation.run(now, turn.conversationId);
        // The rows just written are what a read would return; building the turn from them spares
        // two queries per write.
        return { turn: turnOf(row, answers), created: true };
      })
      .immediate();
  }

  async getTurn(turnId: string): Promise<Turn | undefined> {
    return this.db.transaction(() => this.readTurn(turnId))();
  }

  async getConversation(
    conversationId: string,
    lastTurns: number,
  ): Promise<ConversationWithTurns | undefined> {
    return this.db.transaction(() => {
      const row = this.statements.selectConversation.get(conversationId);
      if (!row) return undefined;
      const rows = this.statements.selectLastTurns.all(conversationId, lastTurns > 0 ? lastTurns : -1);
      return { conversation: conversationOf(row), turns: rows.map((turn) => this.withAnswers(turn)) };
    })();
  }

  async listConversations(pageSize: number, after: PageCursor | undefined): Promise<ConversationPage> {
    // One extra row tells whether another page follows.
    const rows = after
      ? this.statements.listAfter.all(after.updatedAtMs, after.conversationId, pageSize + 1)
      : this.statements.listFirst.all(pageSize + 1);
    const page = rows.slice(0, pageSize);
    const last = page.at(-1);
    const next =
      rows.length > pageSize && last
        ? { updatedAtMs: last.updated_at_ms, conversationId: last.conversation_id }
        : undefined;
    return { conversations: page.map(conversationOf), next };
  }

  async searchTurns(query: string, conversationId: string | undefined, limit: number): Promise<Turn[]> {
    return this.db.transaction(() => {
      const pattern = likeLiteral(query);
      const rows =
        conversationId === undefined
          ? this.statements.searchAll.all(pattern, pattern, limit)
          : this.statements.searchOne.all(conversationId, pattern, pattern, limit);
      return rows.map((row) => this.withAnswers(row));
    })();
  }

  async deleteConversation(conversationId: string): Promise<number | undefined> {
    return this.db
      .transaction(() => {
        if (!this.statements.selectConversation.get(conversationId)) return undefined;
        const turns = this.statements.countTurns.get(conversationId) ?? 0;
        // Turns and their agent answers go with it (ON DELETE CASCADE).
        this.statements.deleteConversation.run(conversationId);
        return turns;
      })
      .immediate();
  }

  async *iterateTurns(conversationId: string): AsyncIterable<Turn> {
    let afterSeq = 0;
    // A closed database means the service is shutting down and the call is already cancelled.
    while (this.db.open) {
      const batch = this.db.transaction(() =>
        this.statements.selectTurnsAfter
          .all(conversationId, afterSeq, EXPORT_BATCH)
          .map((row) => this.withAnswers(row)),
      )();
      yield* batch;
      const last = batch.at(-1);
      if (batch.length < EXPORT_BATCH || !last) return;
      afterSeq = last.seq;
    }
  }

  async conversationExists(conversationId: string): Promise<boolean> {
    return this.statements.selectConversation.get(conversationId) !== undefined;
  }

  /** Optimizes the query planner statistics and closes the database. */
  close(): void {
    if (!this.db.open) return;
    this.db.pragma("optimize");
    this.db.close();
  }

  private readTurn(turnId: string): Turn | undefined {
    const row = this.statements.selectTurn.get(turnId);
    return row ? this.withAnswers(row) : undefined;
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
