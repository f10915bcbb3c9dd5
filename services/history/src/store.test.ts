import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { type Turn, TurnSchema } from "@chorus/proto";
import type { Scope } from "./store.js";
import { rowCounts, type TestBackend, testBackends } from "./testing/backends.js";
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

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** A child process appending `count` turns to conversation "shared" once told to go: another replica. */
function startWriter(backend: TestBackend, location: string, name: string, count: number) {
  const backendsUrl = new URL("./testing/backends.ts", import.meta.url).href;
  const fixturesUrl = new URL("./testing/fixtures.ts", import.meta.url).href;
  const code = `
    const { create } = await import("@bufbuild/protobuf");
    const { TurnSchema } = await import("@chorus/proto");
    const { testBackends } = await import(${JSON.stringify(backendsUrl)});
    const { sampleTurn } = await import(${JSON.stringify(fixturesUrl)});
    const backend = testBackends().find((b) => b.name === ${JSON.stringify(backend.name)});
    const store = await backend.open(${JSON.stringify(location)});
    process.stdout.write("ready\\n");
    await new Promise((resolve) => process.stdin.once("data", resolve));
    for (let i = 0; i < ${count}; i++) {
      await store.appendTurn({ owner: "local", admin: false }, create(TurnSchema, sampleTurn("${name}-" + i, "shared")), true);
      // A pause between appends lets the other writer take the lock in between.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await store.close();
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

for (const backend of testBackends()) {
  describe(`Store on ${backend.name}`, () => {
    before(() => backend.start());
    after(() => backend.stop());
    const fresh = async (options = {}) => {
      const location = await backend.fresh();
      return { location, store: await backend.open(location, options) };
    };

    it("keeps every turn and agent answer across close and reopen", async () => {
      const { location, store: first } = await fresh();
      const appended = await first.appendTurn(local, turn("t1", "c1"), true);
      await first.appendTurn(local, turn("t2", "c1", { agentAnswers: [] }), true);
      await first.close();

      const reopened = await backend.open(location);
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
      await reopened.close();
    });

    it("stores a turn_id once: a repeat writes nothing and returns the first content", async () => {
      const { store } = await fresh();
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
      await store.close();
    });

    it("numbers turns 1, 2, 3 within each conversation independently", async () => {
      const { store } = await fresh();
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
      await store.close();
    });

    it("refuses to start a conversation when told it must already exist, writing no row", async () => {
      const { location, store } = await fresh();
      assert.equal(await store.appendTurn(local, turn("t1", "missing"), false), undefined);
      assert.deepEqual(await rowCounts(backend, location), { conversations: 0, turns: 0, agent_answers: 0 });
      await store.appendTurn(local, turn("t2", "present"), true);
      assert.equal((await store.appendTurn(local, turn("t3", "present"), false))?.turn.seq, 2);
      assert.deepEqual(await rowCounts(backend, location), { conversations: 1, turns: 2, agent_answers: 6 });
      await store.close();
    });

    it("titles a conversation with its first message and dates it by the clock", async () => {
      let now = 1000;
      const { store } = await fresh({ now: () => now });
      await store.appendTurn(local, turn("t1", "c1", { message: "  How do\nrainbows form?" }), true);
      now = 2000;
      await store.appendTurn(local, turn("t2", "c1", { message: "And double ones?" }), true);
      now = 1500; // a clock that steps back never moves updated_at_ms backwards
      await store.appendTurn(local, turn("t3", "c1"), true);
      const conversation = (await store.getConversation(local, "c1", 0))?.conversation;
      assert.equal(conversation?.title, "How do rainbows form?");
      assert.equal(conversation?.createdAtMs, 1000n);
      assert.equal(conversation?.updatedAtMs, 2000n);
      await store.close();
    });

    it("returns only the latest N turns, still oldest first", async () => {
      const { store } = await fresh();
      for (let i = 1; i <= 5; i++) await store.appendTurn(local, turn(`t${i}`, "c1"), true);
      const latest = await store.getConversation(local, "c1", 2);
      assert.deepEqual(
        latest?.turns.map((t) => t.seq),
        [4, 5],
      );
      assert.equal(latest?.conversation.turnCount, 5);
      await store.close();
    });

    it("iterates more turns than one read batch, in order", async () => {
      const { store } = await fresh();
      for (let i = 1; i <= 250; i++)
        await store.appendTurn(local, turn(`t${i}`, "c1", { agentAnswers: [] }), true);
      const seqs = (await collect(store.iterateTurns(local, "c1"))).map((t) => t.seq);
      assert.deepEqual(
        seqs,
        Array.from({ length: 250 }, (_, i) => i + 1),
      );
      assert.deepEqual(await collect(store.iterateTurns(local, "unknown")), []);
      await store.close();
    });

    it("matches % and _ literally in searches", async () => {
      const { store } = await fresh();
      await store.appendTurn(local, turn("t1", "c1", { message: "100% sure", answer: "yes" }), true);
      await store.appendTurn(local, turn("t2", "c1", { message: "1000 sure", answer: "a_b" }), true);
      await store.appendTurn(local, turn("t3", "c1", { message: "back\\slash", answer: "axb" }), true);
      const ids = async (query: string) =>
        (await store.searchTurns(local, query, undefined, 20))?.map((t) => t.turnId);
      assert.deepEqual(await ids("100%"), ["t1"]);
      assert.deepEqual(await ids("a_b"), ["t2"]);
      assert.deepEqual(await ids("k\\s"), ["t3"]);
      await store.close();
    });

    it("folds the case of ASCII letters only in searches, matching every other character exactly", async () => {
      const { store } = await fresh();
      const at = (ms: number) => ({ startedAtMs: BigInt(ms), completedAtMs: BigInt(ms) });
      await store.appendTurn(
        local,
        turn("t1", "c1", { message: "Über Zürich", answer: "STRASSE", ...at(1) }),
        true,
      );
      await store.appendTurn(
        local,
        turn("t2", "c1", { message: "über zürich", answer: "straße", ...at(2) }),
        true,
      );
      await store.appendTurn(local, turn("t3", "c1", { message: "ΣΟΦΙΑ", answer: "σοφια", ...at(3) }), true);
      const ids = async (query: string) =>
        (await store.searchTurns(local, query, undefined, 20))?.map((t) => t.turnId);
      assert.deepEqual(await ids("ZüRICH"), ["t2", "t1"]);
      assert.deepEqual(await ids("ZÜRICH"), []);
      assert.deepEqual(await ids("über"), ["t2"]);
      assert.deepEqual(await ids("Über"), ["t1"]);
      assert.deepEqual(await ids("strasse"), ["t1"]);
      assert.deepEqual(await ids("ΣΟΦΙΑ"), ["t3"]);
      assert.deepEqual(await ids("Σοφια"), []);
      await store.close();
    });

    it("orders the newest of turns completed in one millisecond first, by when they were stored", async () => {
      const { store } = await fresh();
      const same = { startedAtMs: 5n, completedAtMs: 7n };
      for (const id of ["z1", "a2", "m3"]) await store.appendTurn(local, turn(id, "c1", same), true);
      const found = await store.searchTurns(local, "question", undefined, 20);
      assert.deepEqual(
        found?.map((t) => t.turnId),
        ["m3", "a2", "z1"],
      );
      await store.close();
    });

    it("pages conversations with equal update times in byte order of their ids, each once", async () => {
      const { store } = await fresh({ now: () => 42 });
      // Byte order puts upper case before lower case and "-" before letters; a locale's order would not.
      const ids = ["b", "B", "a-c", "ac", "A", "_x", "Z9"];
      for (const id of ids) await store.appendTurn(local, turn(`t-${id}`, id), true);
      const seen: string[] = [];
      let after: Awaited<ReturnType<typeof store.listConversations>>["next"];
      do {
        const page = await store.listConversations(local, 2, after);
        seen.push(...page.conversations.map((c) => c.conversationId));
        after = page.next;
      } while (after && seen.length < 20);
      assert.deepEqual(seen, [...ids].sort().reverse());
      await store.close();
    });

    it("deletes a conversation with its turns and agent answers", async () => {
      const { location, store } = await fresh();
      await store.appendTurn(local, turn("t1", "gone"), true);
      await store.appendTurn(local, turn("t2", "gone"), true);
      await store.appendTurn(local, turn("t3", "kept"), true);
      assert.equal(await store.deleteConversation(local, "gone"), 2);
      assert.equal(await store.deleteConversation(local, "gone"), undefined);
      const count = (sql: string) => backend.count(location, sql);
      assert.equal(await count("SELECT COUNT(*) FROM turns WHERE conversation_id = 'gone'"), 0);
      assert.equal(await count("SELECT COUNT(*) FROM agent_answers WHERE turn_id IN ('t1', 't2')"), 0);
      assert.equal(await count("SELECT COUNT(*) FROM agent_answers WHERE turn_id = 't3'"), 3);
      await store.close();
    });

    it("answers every method on another owner's conversation as on a missing one", async () => {
      const { location, store } = await fresh();
      const alice: Scope = { owner: "alice", admin: false };
      const bob: Scope = { owner: "bob", admin: false };
      await store.appendTurn(bob, turn("b1", "bobs"), true);
      const rows = await rowCounts(backend, location);
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
      assert.deepEqual(await rowCounts(backend, location), rows);
      assert.equal((await collect(store.iterateTurns(bob, "bobs"))).length, 1);
      await store.close();
    });

    it("gives gapless seqs when two replicas on one location append to one conversation at once", async () => {
      const location = await backend.fresh();
      const [a, b] = [await backend.open(location), await backend.open(location)];
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          (i % 2 ? a : b).appendTurn(local, turn(`r${i % 2}-${i}`, "race"), true),
        ),
      );
      assert.ok(results.every((r) => r?.created));
      assert.deepEqual(
        results.map((r) => r?.turn.seq).sort((x = 0, y = 0) => x - y),
        Array.from({ length: 60 }, (_, i) => i + 1),
      );
      const stored = (await a.getConversation(local, "race", 0))?.turns ?? [];
      assert.deepEqual(
        stored.map((t) => t.seq),
        Array.from({ length: 60 }, (_, i) => i + 1),
      );
      assert.equal((await b.getConversation(local, "race", 0))?.conversation.turnCount, 60);
      await a.close();
      await b.close();
    });

    it("stores a turn sent to two replicas at once exactly once, and both answer with it", async () => {
      const location = await backend.fresh();
      const [a, b] = [await backend.open(location), await backend.open(location)];
      for (let i = 0; i < 10; i++) {
        const both = await Promise.all(
          [a, b].map((s) => s.appendTurn(local, turn(`twice-${i}`, "twice"), true)),
        );
        assert.deepEqual(both.map((r) => r?.created).sort(), [false, true], `turn ${i}`);
        assert.deepEqual(both[0]?.turn, both[1]?.turn);
        assert.equal(both[0]?.turn.seq, i + 1);
      }
      assert.deepEqual(await rowCounts(backend, location), {
        conversations: 1,
        turns: 10,
        agent_answers: 30,
      });
      await a.close();
      await b.close();
    });

    it("gives gapless seqs when two processes append to one conversation at once", async () => {
      const location = await backend.fresh();
      await (await backend.open(location)).close();
      const writers = ["p", "q"].map((name) => startWriter(backend, location, name, 25));
      await Promise.all(writers.map((writer) => writer.ready));
      for (const writer of writers) writer.go();
      await Promise.all(writers.map((writer) => writer.done));
      const store = await backend.open(location);
      const turns = (await store.getConversation(local, "shared", 0))?.turns ?? [];
      assert.deepEqual(
        turns.map((t) => t.seq),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      assert.equal(new Set(turns.map((t) => t.turnId)).size, 50);
      // The writers really overlapped: their turns interleave instead of forming two runs.
      const runs = turns.filter((t, i) => i > 0 && t.turnId[0] !== turns[i - 1]?.turnId[0]).length + 1;
      assert.ok(runs > 2, `expected interleaved writers, got ${runs} runs`);
      await store.close();
    });
  });
}
