import assert from "node:assert/strict";
import { spawn } from "node:child_process";
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

function turn(
  turnId: string,
  conversationId: string,
  overrides: Parameters<typeof sampleTurn>[2] = {},
): Turn {
  return create(TurnSchema, sampleTurn(turnId, conversationId, overrides));
}

/** Rows in each table of the SQLite file at `path`, read through a connection of their own. */
function rowCounts(path: string): Record<string, number> {
  const raw = new BetterSqlite3(path, { readonly: true });
  try {
    const count = (table: string) => raw.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;
    return {
      conversations: count("conversations"),
      turns: count("turns"),
      agent_answers: count("agent_answers"),
    };
  } finally {
    raw.close();
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** A child process appending `count` turns to conversation "shared" once told to go. */
function startWriter(path: string, name: string, count: number) {
  const storeUrl = new URL("./sqlite-store.ts", import.meta.url).href;
  const fixturesUrl = new URL("./testing/fixtures.ts", import.meta.url).href;
  const code = `
    const { create } = await import("@bufbuild/protobuf");
    const { TurnSchema } = await import("@chorus/proto");
    const { openSqliteStore } = await import(${JSON.stringify(storeUrl)});
    const { sampleTurn } = await import(${JSON.stringify(fixturesUrl)});
    const store = openSqliteStore(${JSON.stringify(path)});
    process.stdout.write("ready\\n");
    await new Promise((resolve) => process.stdin.once("data", resolve));
    for (let i = 0; i < ${count}; i++) {
      await store.appendTurn({ owner: "local", admin: false }, create(TurnSchema, sampleTurn("${name}-" + i, "shared")), true);
      // A pause between appends lets the other writer take the lock in between.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    store.close();
    process.exit(0);`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
    cwd: new URL(".", import.meta.url).pathname,
    stdio: ["pipe", "pipe", "inherit"],
  });
  return {
    ready: new Promise<void>((resolve) => child.stdout.once("data", () => resolve())),
    go: () => child.stdin.write("go\n"),
    done: new Promise<void>((resolve, reject) =>
      child.once("exit", (code) =>
        code === 0 ? resolve() : reject(new Error(`writer ${name} exited ${code}`)),
      ),
    ),
  };
}

describe("SqliteStore", () => {
  let dir: string;
  let counter = 0;
  const freshPath = () => join(dir, `store-${++counter}.db`);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "chorus-history-store-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps every turn and agent answer across close and reopen", async () => {
    const path = freshPath();
    const first = openSqliteStore(path);
    const appended = await first.appendTurn(local, turn("t1", "c1"), true);
    await first.appendTurn(local, turn("t2", "c1", { agentAnswers: [] }), true);
    first.close();

    const reopened = openSqliteStore(path);
    const stored = await reopened.getTurn(local, "t1");
    assert.deepEqual(stored, appended?.turn);
    assert.deepEqual(stored, create(TurnSchema, { ...sampleTurn("t1", "c1"), seq: 1 }));
    const conversation = await reopened.getConversation(local, "c1", 0);
    assert.deepEqual(
      conversation?.turns.map((t) => [t.turnId, t.seq, t.agentAnswers.length]),
      [
        ["t1", 1, 3],
        ["t2", 2, 0],
      ],
    );
    assert.equal(conversation?.conversation.turnCount, 2);
    reopened.close();
  });

  it("stores a turn_id once: a repeat writes nothing and returns the first content", async () => {
    const store = openSqliteStore(freshPath());
    const first = await store.appendTurn(local, turn("t1", "c1", { message: "first" }), true);
    const again = await store.appendTurn(
      local,
      turn("t1", "c1", { message: "second", agentAnswers: [] }),
      true,
    );
    const elsewhere = await store.appendTurn(local, turn("t1", "c2", { message: "third" }), true);
    assert.equal(first?.created, true);
    assert.equal(again?.created, false);
    assert.deepEqual(again?.turn, first?.turn);
    assert.equal(elsewhere?.created, false);
    assert.equal(elsewhere?.turn.conversationId, "c1");
    assert.equal(await store.conversationExists(local, "c2"), false);
    assert.equal((await store.getConversation(local, "c1", 0))?.conversation.turnCount, 1);
    store.close();
  });

  it("numbers turns 1, 2, 3 within each conversation independently", async () => {
    const store = openSqliteStore(freshPath());
    const seqs: Array<[string, number | undefined]> = [];
    for (const [id, conversation] of [
      ["a1", "a"],
      ["b1", "b"],
      ["a2", "a"],
      ["a3", "a"],
      ["b2", "b"],
    ] as const) {
      seqs.push([id, (await store.appendTurn(local, turn(id, conversation), true))?.turn.seq]);
    }
    assert.deepEqual(seqs, [
      ["a1", 1],
      ["b1", 1],
      ["a2", 2],
      ["a3", 3],
      ["b2", 2],
    ]);
    store.close();
  });

  it("refuses to start a conversation when told it must already exist, writing no row", async () => {
    const path = freshPath();
    const store = openSqliteStore(path);
    assert.equal(await store.appendTurn(local, turn("t1", "missing"), false), undefined);
    assert.deepEqual(rowCounts(path), { conversations: 0, turns: 0, agent_answers: 0 });
    await store.appendTurn(local, turn("t2", "present"), true);
    assert.equal((await store.appendTurn(local, turn("t3", "present"), false))?.turn.seq, 2);
    assert.deepEqual(rowCounts(path), { conversations: 1, turns: 2, agent_answers: 6 });
    store.close();
  });

  it("titles a conversation with its first message and dates it by the clock", async () => {
    let now = 1000;
    const store = openSqliteStore(freshPath(), { now: () => now });
    await store.appendTurn(local, turn("t1", "c1", { message: "  How do\nrainbows form?" }), true);
    now = 2000;
    await store.appendTurn(local, turn("t2", "c1", { message: "And double ones?" }), true);
    const conversation = (await store.getConversation(local, "c1", 0))?.conversation;
    assert.equal(conversation?.title, "How do rainbows form?");
    assert.equal(conversation?.createdAtMs, 1000n);
    assert.equal(conversation?.updatedAtMs, 2000n);
    store.close();
  });

  it("returns only the latest N turns, still oldest first", async () => {
    const store = openSqliteStore(freshPath());
    for (let i = 1; i <= 5; i++) await store.appendTurn(local, turn(`t${i}`, "c1"), true);
    const latest = await store.getConversation(local, "c1", 2);
    assert.deepEqual(
      latest?.turns.map((t) => t.seq),
      [4, 5],
    );
    assert.equal(latest?.conversation.turnCount, 5);
    store.close();
  });

  it("iterates more turns than one read batch, in order", async () => {
    const store = openSqliteStore(freshPath());
    for (let i = 1; i <= 250; i++)
      await store.appendTurn(local, turn(`t${i}`, "c1", { agentAnswers: [] }), true);
    const seqs = (await collect(store.iterateTurns(local, "c1"))).map((t) => t.seq);
    assert.deepEqual(
      seqs,
      Array.from({ length: 250 }, (_, i) => i + 1),
    );
    assert.deepEqual(await collect(store.iterateTurns(local, "unknown")), []);
    store.close();
  });

  it("matches % and _ literally in searches", async () => {
    const store = openSqliteStore(freshPath());
    await store.appendTurn(local, turn("t1", "c1", { message: "100% sure", answer: "yes" }), true);
    await store.appendTurn(local, turn("t2", "c1", { message: "1000 sure", answer: "a_b" }), true);
    await store.appendTurn(local, turn("t3", "c1", { message: "back\\slash", answer: "axb" }), true);
    const ids = async (query: string) =>
      (await store.searchTurns(local, query, undefined, 20))?.map((t) => t.turnId);
    assert.deepEqual(await ids("100%"), ["t1"]);
    assert.deepEqual(await ids("a_b"), ["t2"]);
    assert.deepEqual(await ids("k\\s"), ["t3"]);
    store.close();
  });

  it("deletes a conversation with its turns and agent answers", async () => {
    const path = freshPath();
    const store = openSqliteStore(path);
    await store.appendTurn(local, turn("t1", "gone"), true);
    await store.appendTurn(local, turn("t2", "gone"), true);
    await store.appendTurn(local, turn("t3", "kept"), true);
    assert.equal(await store.deleteConversation(local, "gone"), 2);
    assert.equal(await store.deleteConversation(local, "gone"), undefined);
    const raw = new BetterSqlite3(path, { readonly: true });
    const count = (sql: string) => raw.prepare(sql).pluck().get();
    assert.equal(count("SELECT COUNT(*) FROM turns WHERE conversation_id = 'gone'"), 0);
    assert.equal(count("SELECT COUNT(*) FROM agent_answers WHERE turn_id IN ('t1', 't2')"), 0);
    assert.equal(count("SELECT COUNT(*) FROM agent_answers WHERE turn_id = 't3'"), 3);
    raw.close();
    store.close();
  });

  it("answers every method on another owner's conversation as on a missing one", async () => {
    const path = freshPath();
    const store = openSqliteStore(path);
    const alice: Scope = { owner: "alice", admin: false };
    const bob: Scope = { owner: "bob", admin: false };
    await store.appendTurn(bob, turn("b1", "bobs"), true);
    const rows = rowCounts(path);
    for (const id of ["bobs", "missing"]) {
      assert.equal(await store.appendTurn(alice, turn(`a-${id}`, id), false), undefined, id);
      assert.equal(await store.getConversation(alice, id, 0), undefined, id);
      assert.equal(await store.searchTurns(alice, "question", id, 20), undefined, id);
      assert.deepEqual(await collect(store.iterateTurns(alice, id)), [], id);
      assert.equal(await store.conversationExists(alice, id), false, id);
      assert.equal(await store.deleteConversation(alice, id), undefined, id);
    }
    assert.equal(await store.appendTurn(alice, turn("a-2", "bobs"), true), undefined);
    assert.equal(await store.getTurn(alice, "b1"), undefined);
    assert.deepEqual(await store.searchTurns(alice, "question", undefined, 20), []);
    assert.deepEqual((await store.listConversations(alice, 20, undefined)).conversations, []);
    assert.deepEqual(rowCounts(path), rows);
    assert.equal((await collect(store.iterateTurns(bob, "bobs"))).length, 1);
    store.close();
  });

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

  it("refuses a file written by a newer schema version", () => {
    const path = freshPath();
    const raw = new BetterSqlite3(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(() => openSqliteStore(path), /schema version \d+ is newer than this build supports/);
  });

  it("gives gapless seqs when two processes append to one conversation at once", async () => {
    const path = freshPath();
    openSqliteStore(path).close();
    const writers = ["p", "q"].map((name) => startWriter(path, name, 25));
    await Promise.all(writers.map((writer) => writer.ready));
    for (const writer of writers) writer.go();
    await Promise.all(writers.map((writer) => writer.done));
    const store = openSqliteStore(path);
    const turns = (await store.getConversation(local, "shared", 0))?.turns ?? [];
    assert.deepEqual(
      turns.map((t) => t.seq),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    assert.equal(new Set(turns.map((t) => t.turnId)).size, 50);
    // The writers really overlapped: their turns interleave instead of forming two runs.
    const runs = turns.filter((t, i) => i > 0 && t.turnId[0] !== turns[i - 1]?.turnId[0]).length + 1;
    assert.ok(runs > 2, `expected interleaved writers, got ${runs} runs`);
    store.close();
  });
});
