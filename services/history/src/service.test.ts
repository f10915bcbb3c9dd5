import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { HistoryService, TurnSchema } from "@chorus/proto";
import {
  bind,
  createClient,
  createLogger,
  type PromiseClient,
  type RunningServer,
  serve,
} from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import type { ClosableStore } from "./open-store.js";
import { historyHandlers } from "./service.js";
import { rowCounts as countRows, testBackends } from "./testing/backends.js";
import { sampleTurn } from "./testing/fixtures.js";

type Client = PromiseClient<typeof HistoryService>;

function rejectsWith(code: status, field?: string) {
  return (err: { code: number; details: string }) => {
    assert.equal(err.code, code, err.details);
    if (field !== undefined) assert.ok(err.details.startsWith(`${field}: `), err.details);
    return true;
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

for (const backend of testBackends())
  describe(`HistoryService over gRPC on ${backend.name}`, () => {
    let location: string;
    let store: ClosableStore;
    const rowCounts = () => countRows(backend, location);
    let server: RunningServer;
    let client: Client;
    // A clock the tests move by hand; it stands still unless told, so many writes share a millisecond.
    let now = 1_000_000;

    before(async () => {
      await backend.start();
      location = await backend.fresh();
      store = await backend.open(location, { now: () => now });
      server = await serve({
        host: "127.0.0.1",
        port: 0,
        services: [bind(HistoryService, historyHandlers(store, { maxMessageBytes: 1024 }))],
        log: createLogger("history-test", "silent"),
      });
      client = createClient(HistoryService, server.address);
    });
    after(async () => {
      client.close();
      await server.close(100);
      await store.close();
      await backend.stop();
    });

    it("numbers 50 concurrent appends to one conversation 1..50 without gaps", async () => {
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          client.appendTurn({ turn: sampleTurn(`par-${i}`, "parallel"), createConversation: true }),
        ),
      );
      assert.ok(responses.every((r) => r.created));
      assert.deepEqual(
        responses.map((r) => r.turn?.seq).sort((a = 0, b = 0) => a - b),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      const { conversation, turns } = await client.getConversation({ conversationId: "parallel" });
      assert.equal(conversation?.turnCount, 50);
      assert.deepEqual(
        turns.map((t) => t.seq),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
    });

    it("answers a repeated turn_id with the stored turn and created=false", async () => {
      const first = await client.appendTurn({ turn: sampleTurn("dup", "dups"), createConversation: true });
      const second = await client.appendTurn({
        turn: sampleTurn("dup", "other", { message: "different", agentAnswers: [] }),
        createConversation: true,
      });
      assert.equal(first.created, true);
      assert.equal(second.created, false);
      assert.deepEqual(second.turn, first.turn);
      assert.equal(second.turn?.agentAnswers.length, 3);
      await assert.rejects(
        client.getConversation({ conversationId: "other" }),
        rejectsWith(status.NOT_FOUND),
      );
    });

    it("returns a stored turn with every agent answer", async () => {
      const { turn } = await client.appendTurn({
        turn: sampleTurn("full", "full"),
        createConversation: true,
      });
      const fetched = await client.getTurn({ turnId: "full" });
      assert.deepEqual(fetched.turn, turn);
      assert.deepEqual(
        fetched.turn?.agentAnswers.map((a) => [a.agent, a.ok, a.cached, a.error]),
        [
          ["creative", true, false, ""],
          ["analytical", false, false, "deadline exceeded"],
          ["balanced", true, true, ""],
        ],
      );
    });

    it("pages through every conversation exactly once, most recently updated first", async () => {
      const ids = Array.from({ length: 23 }, (_, i) => `page-${String(i).padStart(2, "0")}`);
      for (const [i, id] of ids.entries()) {
        // Every third conversation shares its update time with the previous ones: ties must page too.
        if (i % 3 === 0) now += 1;
        await client.appendTurn({ turn: sampleTurn(`${id}-t`, id), createConversation: true });
      }
      now += 1;
      await client.appendTurn({ turn: sampleTurn("page-05-t2", "page-05"), createConversation: false });

      const seen: string[] = [];
      const updated: bigint[] = [];
      let pageToken = "";
      let pages = 0;
      do {
        const page = await client.listConversations({ pageSize: 4, pageToken });
        assert.ok(page.conversations.length <= 4);
        seen.push(...page.conversations.map((c) => c.conversationId));
        updated.push(...page.conversations.map((c) => c.updatedAtMs));
        pageToken = page.nextPageToken;
        pages++;
      } while (pageToken !== "" && pages < 100);

      const listed = seen.filter((id) => id.startsWith("page-"));
      assert.equal(new Set(seen).size, seen.length, "a conversation was listed twice");
      assert.deepEqual([...listed].sort(), ids);
      assert.equal(seen[0], "page-05");
      assert.deepEqual(
        updated,
        [...updated].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)),
      );
    });

    it("finds turns by message or answer, case-insensitively, newest first", async () => {
      const at = (ms: number) => ({ startedAtMs: BigInt(ms), completedAtMs: BigInt(ms + 10) });
      const turns = [
        sampleTurn("s1", "search-a", { message: "Tell me about Zebras", answer: "stripes", ...at(1) }),
        sampleTurn("s2", "search-a", { message: "and horses?", answer: "Zebra cousins", ...at(2) }),
        sampleTurn("s3", "search-b", { message: "ZEBRA crossing?", answer: "a road marking", ...at(3) }),
        sampleTurn("s4", "search-b", { message: "50% off?", answer: "a discount", ...at(4) }),
        sampleTurn("s5", "search-b", { message: "500 off?", answer: "no", ...at(5) }),
      ];
      for (const turn of turns) await client.appendTurn({ turn, createConversation: true });
      const ids = async (query: string, conversationId = "", limit = 0) =>
        (await client.searchTurns({ query, conversationId, limit })).turns.map((t) => t.turnId);

      assert.deepEqual(await ids("zebra"), ["s3", "s2", "s1"]);
      assert.deepEqual(await ids("STRIPES"), ["s1"]);
      assert.deepEqual(await ids("zebra", "search-a"), ["s2", "s1"]);
      assert.deepEqual(await ids("zebra", "", 1), ["s3"]);
      assert.deepEqual(await ids("50%"), ["s4"]);
      assert.deepEqual(await ids("no such text"), []);
    });

    it("deletes a conversation with its turns and agent answers, then reports it missing", async () => {
      for (let i = 1; i <= 3; i++) {
        await client.appendTurn({ turn: sampleTurn(`del-${i}`, "doomed"), createConversation: true });
      }
      assert.equal((await client.deleteConversation({ conversationId: "doomed" })).deletedTurns, 3);

      await assert.rejects(
        client.getConversation({ conversationId: "doomed" }),
        rejectsWith(status.NOT_FOUND),
      );
      await assert.rejects(client.getTurn({ turnId: "del-1" }), rejectsWith(status.NOT_FOUND));
      await assert.rejects(
        client.deleteConversation({ conversationId: "doomed" }),
        rejectsWith(status.NOT_FOUND),
      );
      const answers = await backend.count(
        location,
        "SELECT COUNT(*) FROM agent_answers WHERE turn_id LIKE 'del-%'",
      );
      assert.equal(answers, 0);
      assert.deepEqual((await client.searchTurns({ query: "question of del-" })).turns, []);
    });

    it("exports a conversation's turns in order, across read batches", async () => {
      for (let i = 1; i <= 130; i++) {
        await store.appendTurn(
          { owner: "local", admin: false },
          create(TurnSchema, sampleTurn(`exp-${i}`, "export")),
          true,
        );
      }
      const exported = await collect(client.exportConversation({ conversationId: "export" }));
      assert.deepEqual(
        exported.map((r) => [r.turn?.seq, r.turn?.turnId]),
        Array.from({ length: 130 }, (_, i) => [i + 1, `exp-${i + 1}`]),
      );
      assert.ok(exported.every((r) => r.turn?.agentAnswers.length === 3));
    });

    it("answers NOT_FOUND for unknown turns and conversations", async () => {
      const calls: Array<[string, () => Promise<unknown>]> = [
        ["GetTurn", () => client.getTurn({ turnId: "nope" })],
        ["GetConversation", () => client.getConversation({ conversationId: "nope" })],
        ["DeleteConversation", () => client.deleteConversation({ conversationId: "nope" })],
        ["ExportConversation", () => collect(client.exportConversation({ conversationId: "nope" }))],
        [
          "AppendTurn without create_conversation",
          () => client.appendTurn({ turn: sampleTurn("orphan", "nope"), createConversation: false }),
        ],
      ];
      for (const [name, call] of calls) {
        const rows = await rowCounts();
        await assert.rejects(call(), rejectsWith(status.NOT_FOUND), name);
        assert.deepEqual(await rowCounts(), rows, `${name} stored nothing`);
      }
    });

    it("counts the rows a valid append writes: one conversation, one turn, three agent answers", async () => {
      const rows = await rowCounts();
      await client.appendTurn({ turn: sampleTurn("counted", "counted"), createConversation: true });
      assert.deepEqual(await rowCounts(), {
        conversations: (rows.conversations ?? 0) + 1,
        turns: (rows.turns ?? 0) + 1,
        agent_answers: (rows.agent_answers ?? 0) + 3,
      });
    });

    // Each bad request has a turn id of its own, so a row it leaks cannot hide behind an earlier one.
    let badTurns = 0;
    const turn = (overrides: Parameters<typeof sampleTurn>[2]) => ({
      turn: sampleTurn(`bad-turn-${++badTurns}`, "bad-conversation", overrides),
      createConversation: true,
    });
    const badInputs: Array<[string, (client: Client) => Promise<unknown>]> = [
      ["turn", (c) => c.appendTurn({ createConversation: true })],
      ["turn.turn_id", (c) => c.appendTurn(turn({ turnId: "" }))],
      ["turn.turn_id", (c) => c.appendTurn(turn({ turnId: "has space" }))],
      ["turn.conversation_id", (c) => c.appendTurn(turn({ conversationId: "" }))],
      ["turn.conversation_id", (c) => c.appendTurn(turn({ conversationId: "x".repeat(129) }))],
      ["turn.message", (c) => c.appendTurn(turn({ message: "" }))],
      ["turn.message", (c) => c.appendTurn(turn({ message: "   " }))],
      ["turn.message", (c) => c.appendTurn(turn({ message: "x".repeat(1025) }))],
      ["turn.message", (c) => c.appendTurn(turn({ message: "nul \u0000 inside" }))],
      ["turn.answer", (c) => c.appendTurn(turn({ answer: "\u0000" }))],
      ["turn.answered_by[1]", (c) => c.appendTurn(turn({ answeredBy: ["creative", "bal\u0000anced"] }))],
      [
        "turn.agent_answers[0].text",
        (c) => c.appendTurn(turn({ agentAnswers: [{ agent: "a", text: "half\u0000" }] })),
      ],
      ["turn.latency_ms", (c) => c.appendTurn(turn({ latencyMs: Number.NaN }))],
      ["turn.started_at_ms", (c) => c.appendTurn(turn({ startedAtMs: -1n }))],
      ["turn.completed_at_ms", (c) => c.appendTurn(turn({ completedAtMs: 2n ** 60n }))],
      [
        "turn.agent_answers[0].latency_ms",
        (c) => c.appendTurn(turn({ agentAnswers: [{ agent: "a", latencyMs: -5 }] })),
      ],
      ["turn_id", (c) => c.getTurn({ turnId: "" })],
      ["conversation_id", (c) => c.getConversation({ conversationId: "a/b" })],
      ["page_size", (c) => c.listConversations({ pageSize: 101 })],
      ["page_token", (c) => c.listConversations({ pageToken: "not a token" })],
      ["page_token", (c) => c.listConversations({ pageToken: Buffer.from("[1]").toString("base64url") })],
      ["query", (c) => c.searchTurns({ query: "" })],
      ["query", (c) => c.searchTurns({ query: "x".repeat(1001) })],
      ["query", (c) => c.searchTurns({ query: "x\u0000" })],
      ["limit", (c) => c.searchTurns({ query: "x", limit: 101 })],
      ["conversation_id", (c) => c.searchTurns({ query: "x", conversationId: "bad id" })],
      ["conversation_id", (c) => c.deleteConversation({ conversationId: "" })],
      ["conversation_id", (c) => collect(c.exportConversation({ conversationId: "" }))],
    ];
    for (const [field, call] of badInputs) {
      it(`rejects a bad ${field} with INVALID_ARGUMENT, stores no row and keeps serving`, async () => {
        const rows = await rowCounts();
        await assert.rejects(call(client), rejectsWith(status.INVALID_ARGUMENT, field));
        assert.deepEqual(await rowCounts(), rows);
        const page = await client.listConversations({ pageSize: 1 });
        assert.equal(page.conversations.length, 1);
      });
    }
  });
