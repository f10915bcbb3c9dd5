import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { type Turn, TurnSchema } from "@chorus/proto";
import BetterSqlite3 from "better-sqlite3";
import { MIGRATIONS, SCHEMA_VERSION } from "./sqlite-schema.js";
import { openSqliteStore } from "./sqlite-store.js";
import type { Scope } from "./store.js";
import { sampleTurn } from "./testing/fixtures.js";

/** The scope of calls that carry no principal: a keyless run's. */
const local: Scope = { owner: "local", admin: false };

function turn(turnId: string, conversationId: string): Turn {
  return create(TurnSchema, sampleTurn(turnId, conversationId));
}

// SQLite's own claims: WAL, and migrations of files older builds wrote. What every backend does
// is in store.test.ts.
describe("SqliteStore", () => {
  let dir: string;
  let counter = 0;
  const freshPath = () => join(dir, `store-${++counter}.db`);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "chorus-history-store-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("migrates a new file to the current schema version in WAL mode", () => {
    const path = freshPath();
    openSqliteStore(path).close();
    const raw = new BetterSqlite3(path, { readonly: true });
    assert.equal(raw.pragma("user_version", { simple: true }), SCHEMA_VERSION);
    assert.equal(raw.pragma("journal_mode", { simple: true }), "wal");
    raw.close();
  });

  it("migrates a version 1 file in place, keeping its turns", async () => {
    const path = freshPath();
    const raw = new BetterSqlite3(path);
    raw.exec(MIGRATIONS[0] ?? "");
    raw.pragma("user_version = 1");
    raw.exec(`INSERT INTO conversations VALUES ('old', 'old title', 1, 1, 1);
      INSERT INTO turns VALUES ('old-1', 'old', 1, 'hello', 'hi', 1, 5, 1, 2);`);
    raw.close();
    const store = openSqliteStore(path);
    const old = await store.getTurn(local, "old-1");
    assert.equal(old?.message, "hello");
    assert.deepEqual(old?.answeredBy, []);
    const next = await store.appendTurn(local, turn("old-2", "old"), false);
    assert.equal(next?.turn.seq, 2);
    assert.deepEqual(next?.turn.answeredBy, ["creative", "balanced"]);
    store.close();
  });

  it("migrates a version 2 file: its conversations belong to local, outside any other scope", async () => {
    const path = freshPath();
    const raw = new BetterSqlite3(path);
    raw.exec((MIGRATIONS[0] ?? "") + (MIGRATIONS[1] ?? ""));
    raw.pragma("user_version = 2");
    raw.exec(`INSERT INTO conversations VALUES ('old', 'old title', 1, 1, 1);
      INSERT INTO turns VALUES ('old-1', 'old', 1, 'hello', 'hi', 1, 5, 1, 2, '[]');`);
    raw.close();
    const store = openSqliteStore(path);
    const alice: Scope = { owner: "alice", admin: false };
    assert.equal((await store.getConversation(local, "old", 0))?.turns[0]?.message, "hello");
    assert.equal(await store.getConversation(alice, "old", 0), undefined);
    assert.equal(await store.getTurn(alice, "old-1"), undefined);
    assert.deepEqual((await store.listConversations(alice, 10, undefined)).conversations, []);
    assert.equal((await store.getTurn({ owner: "alice", admin: true }, "old-1"))?.message, "hello");
    store.close();
  });

  it("migrates a version 3 file to claims on turn ids, keeping its turns", async () => {
    const path = freshPath();
    const raw = new BetterSqlite3(path);
    raw.exec(MIGRATIONS.slice(0, 3).join(""));
    raw.pragma("user_version = 3");
    raw.exec(`INSERT INTO conversations VALUES ('old', 'old title', 1, 1, 1, 'local');
      INSERT INTO turns VALUES ('old-1', 'old', 1, 'hello', 'hi', 1, 5, 1, 2, '[]');`);
    raw.close();
    const store = openSqliteStore(path);
    assert.equal((await store.getTurn(local, "old-1"))?.message, "hello");
    assert.deepEqual(await store.claimTurn(local, "old-2", "a", 1000), { state: "claimed" });
    store.close();
  });

  it("refuses a file written by a newer schema version", () => {
    const path = freshPath();
    const raw = new BetterSqlite3(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(() => openSqliteStore(path), /schema version \d+ is newer than this build supports/);
  });
});
