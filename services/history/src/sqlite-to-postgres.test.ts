import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { TurnSchema } from "@chorus/proto";
import type { PageCursor } from "./page-token.js";
import { openPostgresStore } from "./postgres-store.js";
import { openSqliteStore } from "./sqlite-store.js";
import { copySqliteToPostgres } from "./sqlite-to-postgres.js";
import type { Scope, Store } from "./store.js";
import { sampleTurn } from "./testing/fixtures.js";
import { type PostgresServer, startPostgresServer } from "./testing/postgres-server.js";

const alice: Scope = { owner: "alice", admin: false };
const bob: Scope = { owner: "bob", admin: false };
const root: Scope = { owner: "root", admin: true };

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** Everything a scope can read from `store`, through the Store interface only. */
async function everything(store: Store, scope: Scope) {
  const pages = [];
  let after: PageCursor | undefined;
  do {
    const page = await store.listConversations(scope, 2, after);
    pages.push(page.conversations);
    after = page.next;
  } while (after && pages.length < 50);
  const ids = pages.flat().map((c) => c.conversationId);
  return {
    pages,
    conversations: await Promise.all(ids.map((id) => store.getConversation(scope, id, 0))),
    latest: await Promise.all(ids.map((id) => store.getConversation(scope, id, 1))),
    exports: await Promise.all(ids.map((id) => collect(store.iterateTurns(scope, id)))),
    turn: await store.getTurn(scope, "a-1"),
    searches: await Promise.all(
      ["question", "QUESTION OF A", "zebra", "Über"].map((q) => store.searchTurns(scope, q, undefined, 100)),
    ),
    inOne: await store.searchTurns(scope, "question", "alice-1", 100),
  };
}

describe("copySqliteToPostgres", () => {
  let dir: string;
  let server: PostgresServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "chorus-history-migrate-"));
    server = await startPostgresServer();
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("copies a SQLite history so that every read answers the same on PostgreSQL, once however often it runs", async () => {
    const path = join(dir, "history.db");
    let now = 1_000;
    const sqlite = openSqliteStore(path, { now: () => now });
    const add = async (scope: Scope, turnId: string, conversationId: string, overrides = {}) => {
      now += 1;
      await sqlite.appendTurn(scope, create(TurnSchema, sampleTurn(turnId, conversationId, overrides)), true);
    };
    // Three turns completed in one millisecond: their order comes from when they were stored.
    const tie = { startedAtMs: 9n, completedAtMs: 9n };
    await add(alice, "a-1", "alice-1", { message: "Zebra crossing?", answer: "Über stripes", ...tie });
    await add(bob, "b-1", "bob-1", tie);
    await add(alice, "a-2", "alice-1", { agentAnswers: [], ...tie });
    await add(alice, "a-3", "alice-2", { message: "über alles" });
    await add(bob, "b-2", "bob-2");
    await add(bob, "b-3", "bob-doomed");
    await sqlite.deleteConversation(bob, "bob-doomed");
    for (let i = 0; i < 12; i++) await add(alice, `many-${i}`, "alice-many");

    const url = await server.createDatabase();
    const first = await copySqliteToPostgres(path, url);
    assert.deepEqual(first, {
      conversations: { copied: 5, present: 0 },
      turns: { copied: 17, present: 0 },
      agentAnswers: { copied: 48, present: 0 },
    });
    const again = await copySqliteToPostgres(path, url);
    assert.deepEqual(again, {
      conversations: { copied: 0, present: 5 },
      turns: { copied: 0, present: 17 },
      agentAnswers: { copied: 0, present: 48 },
    });

    const postgres = await openPostgresStore(url);
    try {
      for (const scope of [alice, bob, root]) {
        assert.deepEqual(await everything(postgres, scope), await everything(sqlite, scope), scope.owner);
      }
      // The copy goes on where SQLite left off.
      const next = await postgres.appendTurn(alice, create(TurnSchema, sampleTurn("a-4", "alice-1")), false);
      assert.equal(next?.turn.seq, 3);
    } finally {
      await postgres.close();
      sqlite.close();
    }
  });

  it("skips a turn whose id the database already holds elsewhere, and counts the conversation's real turns", async () => {
    const path = join(dir, "collide.db");
    const sqlite = openSqliteStore(path);
    for (const id of ["x-1", "x-2"])
      await sqlite.appendTurn(alice, create(TurnSchema, sampleTurn(id, "mine")), true);
    sqlite.close();
    const url = await server.createDatabase();
    const postgres = await openPostgresStore(url);
    await postgres.appendTurn(bob, create(TurnSchema, sampleTurn("x-2", "theirs")), true);
    const report = await copySqliteToPostgres(path, url);
    assert.deepEqual(report.turns, { copied: 1, present: 1 });
    assert.deepEqual(report.agentAnswers, { copied: 3, present: 3 });
    assert.equal((await postgres.getConversation(alice, "mine", 0))?.conversation.turnCount, 1);
    assert.equal((await postgres.getTurn(bob, "x-2"))?.conversationId, "theirs");
    await postgres.close();
  });

  it("refuses a SQLite file that does not exist instead of copying an empty one", async () => {
    const url = await server.createDatabase();
    await assert.rejects(copySqliteToPostgres(join(dir, "typo.db"), url), /unable to open|does not exist/i);
  });
});
