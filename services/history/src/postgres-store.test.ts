import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { TurnSchema } from "@chorus/proto";
import { status } from "@grpc/grpc-js";
import pg from "pg";
import { MIGRATIONS, SCHEMA_VERSION } from "./postgres-schema.js";
import { openPostgresStore } from "./postgres-store.js";
import type { Scope } from "./store.js";
import { sampleTurn } from "./testing/fixtures.js";
import { type PostgresServer, startPostgresServer } from "./testing/postgres-server.js";

const local: Scope = { owner: "local", admin: false };

/** Runs `sql` on a connection of its own and returns its rows. */
async function sql<R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

// PostgreSQL's own claims: schema versions, migrations under a lock, an unreachable database.
// What every backend does is in store.test.ts.
describe("PostgresStore", () => {
  let server: PostgresServer;
  before(async () => {
    server = await startPostgresServer();
  });
  after(() => server?.close());

  it("migrates a new database to the current schema version, recorded in schema_version", async () => {
    const url = await server.createDatabase();
    await (await openPostgresStore(url)).close();
    assert.deepEqual(await sql(url, "SELECT version FROM schema_version"), [{ version: SCHEMA_VERSION }]);
    const tables = await sql<{ name: string }>(
      url,
      "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    );
    assert.deepEqual(
      tables.map((t) => t.name),
      ["agent_answers", "conversations", "schema_version", "turn_claims", "turns"],
    );
  });

  it("migrates a version 1 database to claims on turn ids, keeping its turns", async () => {
    const url = await server.createDatabase();
    await sql(
      url,
      `CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);`,
    );
    await sql(url, MIGRATIONS[0] ?? "");
    await sql(
      url,
      `INSERT INTO conversations VALUES ('old', 'local', 'old title', 1, 1, 1);
      INSERT INTO turns VALUES ('old-1', 'old', 1, 'hello', 'hi', 1, 5, 1, 2, '[]');`,
    );
    const store = await openPostgresStore(url);
    assert.deepEqual(await sql(url, "SELECT version FROM schema_version"), [{ version: SCHEMA_VERSION }]);
    assert.equal((await store.getTurn(local, "old-1"))?.message, "hello");
    assert.deepEqual(await store.claimTurn(local, "old-2", "a", 1000), { state: "claimed" });
    await store.close();
  });

  it("migrates once when eight replicas start on one new database at the same moment", async () => {
    const url = await server.createDatabase();
    const stores = await Promise.all(
      Array.from({ length: 8 }, () => openPostgresStore(url, { poolSize: 1 })),
    );
    assert.deepEqual(await sql(url, "SELECT version FROM schema_version"), [{ version: SCHEMA_VERSION }]);
    const appended = await stores[3]?.appendTurn(local, create(TurnSchema, sampleTurn("t1", "c1")), true);
    assert.equal((await stores[6]?.getTurn(local, "t1"))?.seq, appended?.turn.seq);
    await Promise.all(stores.map((store) => store.close()));
  });

  it("keeps its data when a later start finds the schema current", async () => {
    const url = await server.createDatabase();
    const first = await openPostgresStore(url);
    await first.appendTurn(local, create(TurnSchema, sampleTurn("t1", "c1")), true);
    await first.close();
    const second = await openPostgresStore(url);
    assert.equal((await second.getTurn(local, "t1"))?.seq, 1);
    assert.deepEqual(await sql(url, "SELECT version FROM schema_version"), [{ version: SCHEMA_VERSION }]);
    await second.close();
  });

  it("refuses a database written by a newer schema version", async () => {
    const url = await server.createDatabase();
    await (await openPostgresStore(url)).close();
    await sql(url, `UPDATE schema_version SET version = ${SCHEMA_VERSION + 1}`);
    await assert.rejects(openPostgresStore(url), /schema version \d+ is newer than this build supports/);
  });

  it("answers UNAVAILABLE while the database is down, and serves again once it is back", async () => {
    const url = await server.createDatabase();
    const store = await openPostgresStore(url, { connectTimeoutMs: 1000 });
    await store.appendTurn(local, create(TurnSchema, sampleTurn("t1", "c1")), true);
    await server.stop();
    try {
      for (const call of [
        () => store.getTurn(local, "t1"),
        () => store.appendTurn(local, create(TurnSchema, sampleTurn("t2", "c1")), true),
        () => store.getConversation(local, "c1", 0),
      ]) {
        await assert.rejects(call(), (err: { code: number; message: string }) => {
          assert.equal(err.code, status.UNAVAILABLE, err.message);
          assert.equal(err.message, "history database unavailable");
          return true;
        });
      }
    } finally {
      await server.restart();
    }
    assert.equal(
      (await store.appendTurn(local, create(TurnSchema, sampleTurn("t2", "c1")), true))?.turn.seq,
      2,
    );
    await store.close();
  });
});
