import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import type { ClosableStore } from "../open-store.js";
import { openPostgresStore } from "../postgres-store.js";
import { openSqliteStore } from "../sqlite-store.js";
import { type PostgresServer, startPostgresServer } from "./postgres-server.js";

/** Options every test store can be opened with. */
export interface TestStoreOptions {
  readonly now?: () => number;
}

/**
 * One storage backend as the tests see it: where a fresh, empty store lives (a new SQLite file or
 * a new PostgreSQL database), how to open one there, and how to count rows behind its back.
 */
export interface TestBackend {
  readonly name: "sqlite" | "postgres";
  /** Starts what the backend needs (a real PostgreSQL server); call in before(). */
  start(): Promise<void>;
  /** Stops it and removes its files; call in after(). */
  stop(): Promise<void>;
  /** A new, empty location: a SQLite file path or a PostgreSQL URL. */
  fresh(): Promise<string>;
  /** Opens (creating and migrating) the store at `location`. */
  open(location: string, options?: TestStoreOptions): Promise<ClosableStore>;
  /** The single number `sql` (plain SQL both dialects read) answers, on a connection of its own. */
  count(location: string, sql: string): Promise<number>;
  /** The PostgreSQL server, once started (postgres only). */
  readonly server?: PostgresServer | undefined;
}

function sqliteBackend(): TestBackend {
  let dir = "";
  let files = 0;
  return {
    name: "sqlite",
    async start() {
      dir = mkdtempSync(join(tmpdir(), "chorus-history-test-"));
    },
    async stop() {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
    async fresh() {
      return join(dir, `store-${++files}.db`);
    },
    async open(location, options = {}) {
      return openSqliteStore(location, options);
    },
    async count(location, sql) {
      const raw = new BetterSqlite3(location, { readonly: true });
      try {
        return Number(raw.prepare(sql).pluck().get());
      } finally {
        raw.close();
      }
    },
  };
}

function postgresBackend(): TestBackend {
  let server: PostgresServer | undefined;
  return {
    name: "postgres",
    get server() {
      return server;
    },
    async start() {
      server = await startPostgresServer();
    },
    async stop() {
      await server?.close();
    },
    async fresh() {
      if (!server) throw new Error("postgres backend not started");
      return server.createDatabase();
    },
    async open(location, options = {}) {
      return openPostgresStore(location, { ...options, poolSize: 4 });
    },
    async count(location, sql) {
      const client = new pg.Client({ connectionString: location });
      await client.connect();
      try {
        const { rows } = await client.query<Record<string, unknown>>(sql);
        return Number(Object.values(rows[0] ?? {})[0]);
      } finally {
        await client.end();
      }
    },
  };
}

/** Every backend the history suite runs against: SQLite and a real PostgreSQL server. */
export function testBackends(): TestBackend[] {
  return [sqliteBackend(), postgresBackend()];
}

/** Rows in each table at `location`, read through a connection of its own. */
export async function rowCounts(backend: TestBackend, location: string): Promise<Record<string, number>> {
  const count = (table: string) => backend.count(location, `SELECT COUNT(*) FROM ${table}`);
  return {
    conversations: await count("conversations"),
    turns: await count("turns"),
    agent_answers: await count("agent_answers"),
  };
}
