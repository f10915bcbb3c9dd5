import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { HistoryService } from "@chorus/proto";
import {
  ACTING_FOR_ADMIN_KEY,
  ACTING_FOR_PRINCIPAL_KEY,
  actingForMetadata,
  bind,
  createClient,
  createLogger,
  type Principal,
  type PromiseClient,
  type RpcOptions,
  type RunningServer,
  serve,
} from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { historyHandlers } from "./service.js";
import { rowCounts, type TestBackend, testBackends } from "./testing/backends.js";
import { sampleTurn } from "./testing/fixtures.js";

type Client = PromiseClient<typeof HistoryService>;

const alice: Principal = { id: "alice", roles: new Set(["user"]), via: "key" };
const bob: Principal = { id: "bob", roles: new Set(["user"]), via: "key" };
const root: Principal = { id: "root", roles: new Set(["admin"]), via: "key" };

/** Call options of the orchestrator acting for `principal`. */
const as = (principal: Principal): RpcOptions => ({ metadata: actingForMetadata(principal) });

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** The status a call ends with: its code and message, or OK. */
async function outcome(call: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await call;
    return { code: status.OK, details: "" };
  } catch (err) {
    const { code, details } = err as { code: number; details: string };
    return { code, details };
  }
}

/** A history server on its own store at `location`, with a client. */
async function startHistory(backend: TestBackend, location: string) {
  const store = await backend.open(location);
  const server: RunningServer = await serve({
    host: "127.0.0.1",
    port: 0,
    services: [bind(HistoryService, historyHandlers(store, { maxMessageBytes: 1024 }))],
    log: createLogger("history-test", "silent"),
  });
  const client: Client = createClient(HistoryService, server.address);
  return {
    client,
    async close() {
      client.close();
      await server.close(100);
      await store.close();
    },
  };
}

for (const backend of testBackends())
  describe(`HistoryService keeps each principal's conversations to itself on ${backend.name}`, () => {
    let location: string;
    let history: Awaited<ReturnType<typeof startHistory>>;
    /** A second service on a store where none of the ids below was ever stored. */
    let empty: Awaited<ReturnType<typeof startHistory>>;
    let client: Client;

    before(async () => {
      await backend.start();
      location = await backend.fresh();
      history = await startHistory(backend, location);
      empty = await startHistory(backend, await backend.fresh());
      client = history.client;
      const write = (principal: Principal, turnId: string, conversationId: string, message: string) =>
        client.appendTurn(
          { turn: sampleTurn(turnId, conversationId, { message }), createConversation: true },
          as(principal),
        );
      // Every conversation matches the search "needle", so a search that ignores owners finds them all.
      await write(alice, "alice-t1", "alice-c", "needle of alice, first");
      await write(alice, "alice-t2", "alice-c", "needle of alice, second");
      await write(bob, "bob-t1", "bob-c", "needle of bob");
      await write(alice, "alice-t3", "alice-d", "needle of alice, elsewhere");
      await write(bob, "bob-t2", "bob-d", "needle of bob, elsewhere");
      await write(alice, "alice-t4", "alice-e", "needle of alice, third conversation");
    });
    after(async () => {
      await history?.close();
      await empty?.close();
      await backend.stop();
    });

    // Each call as bob on alice's ids, and (when it differs) the call an empty store gets for comparison.
    const calls: Array<[string, (c: Client) => Promise<unknown>, ((c: Client) => Promise<unknown>)?]> = [
      ["GetConversation", (c) => c.getConversation({ conversationId: "alice-c" }, as(bob))],
      [
        "GetConversation with last_turns",
        (c) => c.getConversation({ conversationId: "alice-c", lastTurns: 1 }, as(bob)),
      ],
      ["GetTurn", (c) => c.getTurn({ turnId: "alice-t1" }, as(bob))],
      [
        "SearchTurns in the conversation",
        (c) => c.searchTurns({ query: "needle", conversationId: "alice-c" }, as(bob)),
      ],
      ["ExportConversation", (c) => collect(c.exportConversation({ conversationId: "alice-c" }, as(bob)))],
      ["DeleteConversation", (c) => c.deleteConversation({ conversationId: "alice-c" }, as(bob))],
      [
        "AppendTurn to the conversation",
        (c) =>
          c.appendTurn({ turn: sampleTurn("bob-in-alice-1", "alice-c"), createConversation: false }, as(bob)),
      ],
      [
        // On an empty store this would create the conversation; here it must be the "not found" of the
        // call without create_conversation, not a second owner's turn in alice's conversation.
        "AppendTurn with create_conversation",
        (c) =>
          c.appendTurn({ turn: sampleTurn("bob-in-alice-2", "alice-c"), createConversation: true }, as(bob)),
        (c) =>
          c.appendTurn({ turn: sampleTurn("bob-in-alice-2", "alice-c"), createConversation: false }, as(bob)),
      ],
    ];
    for (const [name, call, onEmpty = call] of calls) {
      it(`answers ${name} on another principal's id exactly as on a missing one, and stores nothing`, async () => {
        const rows = await rowCounts(backend, location);
        const answer = await outcome(call(client));
        assert.equal(answer.code, status.NOT_FOUND, answer.details);
        assert.deepEqual(answer, await outcome(onEmpty(empty.client)));
        assert.deepEqual(await rowCounts(backend, location), rows);
      });
    }

    it("still holds alice's conversation, untouched, after everything bob tried", async () => {
      const { conversation, turns } = await client.getConversation({ conversationId: "alice-c" }, as(alice));
      assert.equal(conversation?.turnCount, 2);
      assert.deepEqual(
        turns.map((t) => t.turnId),
        ["alice-t1", "alice-t2"],
      );
    });

    it("lists only the caller's own conversations, on every page", async () => {
      const listed = async (principal: Principal) => {
        const ids: string[] = [];
        let pageToken = "";
        do {
          const page = await client.listConversations({ pageSize: 1, pageToken }, as(principal));
          ids.push(...page.conversations.map((c) => c.conversationId));
          pageToken = page.nextPageToken;
        } while (pageToken !== "" && ids.length < 100);
        return ids.sort();
      };
      assert.deepEqual(await listed(alice), ["alice-c", "alice-d", "alice-e"]);
      assert.deepEqual(await listed(bob), ["bob-c", "bob-d"]);
      assert.deepEqual(await listed({ id: "carol", roles: new Set(["user"]), via: "key" }), []);
    });

    it("searches only the caller's own turns", async () => {
      const found = async (principal: Principal) =>
        (await client.searchTurns({ query: "needle", limit: 100 }, as(principal))).turns
          .map((t) => t.turnId)
          .sort();
      assert.deepEqual(await found(alice), ["alice-t1", "alice-t2", "alice-t3", "alice-t4"]);
      assert.deepEqual(await found(bob), ["bob-t1", "bob-t2"]);
    });

    it("lets an admin read, search, list, export and append to another principal's conversation", async () => {
      assert.equal((await client.getConversation({ conversationId: "alice-c" }, as(root))).turns.length, 2);
      assert.equal((await client.getTurn({ turnId: "alice-t1" }, as(root))).turn?.conversationId, "alice-c");
      const inAlice = await client.searchTurns({ query: "needle", conversationId: "alice-c" }, as(root));
      assert.deepEqual(inAlice.turns.map((t) => t.turnId).sort(), ["alice-t1", "alice-t2"]);
      const everywhere = await client.searchTurns({ query: "needle", limit: 100 }, as(root));
      assert.ok(everywhere.turns.some((t) => t.turnId === "bob-t1"));
      const listed = await client.listConversations({ pageSize: 100 }, as(root));
      const ids = listed.conversations.map((c) => c.conversationId);
      assert.ok(ids.includes("alice-c") && ids.includes("bob-c"), ids.join(", "));
      const exported = await collect(client.exportConversation({ conversationId: "alice-c" }, as(root)));
      assert.deepEqual(
        exported.map((r) => r.turn?.turnId),
        ["alice-t1", "alice-t2"],
      );

      const appended = await client.appendTurn(
        { turn: sampleTurn("root-in-alice", "alice-c"), createConversation: false },
        as(root),
      );
      assert.equal(appended.turn?.seq, 3);
      // The conversation stays alice's: she sees the admin's turn, bob still does not see the conversation.
      assert.equal((await client.getTurn({ turnId: "root-in-alice" }, as(alice))).turn?.seq, 3);
      await assert.rejects(client.getTurn({ turnId: "root-in-alice" }, as(bob)), { code: status.NOT_FOUND });
    });

    it("lets an admin delete another principal's conversation", async () => {
      await client.appendTurn(
        { turn: sampleTurn("bob-doomed-t", "bob-doomed"), createConversation: true },
        as(bob),
      );
      const { deletedTurns } = await client.deleteConversation({ conversationId: "bob-doomed" }, as(root));
      assert.equal(deletedTurns, 1);
      await assert.rejects(client.getConversation({ conversationId: "bob-doomed" }, as(bob)), {
        code: status.NOT_FOUND,
      });
    });

    it("gives a conversation an admin creates to the admin, not to everyone", async () => {
      await client.appendTurn({ turn: sampleTurn("root-t1", "root-c"), createConversation: true }, as(root));
      await assert.rejects(client.getConversation({ conversationId: "root-c" }, as(alice)), {
        code: status.NOT_FOUND,
      });
      const aliceList = await client.listConversations({ pageSize: 100 }, as(alice));
      assert.ok(aliceList.conversations.every((c) => c.conversationId.startsWith("alice-")));
    });

    it("refuses a turn_id another principal already used with ALREADY_EXISTS naming neither owner nor conversation, and stores nothing", async () => {
      const attempts = [
        { turn: sampleTurn("alice-t1", "bob-c"), createConversation: false },
        { turn: sampleTurn("alice-t1", "bob-new"), createConversation: true },
      ];
      for (const request of attempts) {
        const rows = await rowCounts(backend, location);
        const answer = await outcome(client.appendTurn(request, as(bob)));
        assert.equal(answer.code, status.ALREADY_EXISTS, answer.details);
        assert.equal(answer.details, 'turn.turn_id: "alice-t1" is already taken; choose another');
        assert.deepEqual(await rowCounts(backend, location), rows);
      }
      await assert.rejects(client.getConversation({ conversationId: "bob-new" }, as(bob)), {
        code: status.NOT_FOUND,
      });
      // The owner repeating its own turn_id still gets its stored turn, as before.
      const again = await client.appendTurn(
        { turn: sampleTurn("alice-t1", "alice-c"), createConversation: true },
        as(alice),
      );
      assert.equal(again.created, false);
      assert.equal(again.turn?.message, "needle of alice, first");
    });

    it("acts for local, without admin rights, when a call carries no principal", async () => {
      await client.appendTurn({ turn: sampleTurn("local-t1", "local-c"), createConversation: true });
      assert.equal((await client.getConversation({ conversationId: "local-c" })).turns.length, 1);
      await assert.rejects(client.getConversation({ conversationId: "alice-c" }), { code: status.NOT_FOUND });
      await assert.rejects(client.getConversation({ conversationId: "local-c" }, as(alice)), {
        code: status.NOT_FOUND,
      });
      const listed = await client.listConversations({ pageSize: 100 });
      assert.deepEqual(
        listed.conversations.map((c) => c.conversationId),
        ["local-c"],
      );
    });

    const badMetadata: Array<[string, string, Record<string, string>]> = [
      ["a principal id with a space", ACTING_FOR_PRINCIPAL_KEY, { [ACTING_FOR_PRINCIPAL_KEY]: "bad id" }],
      [
        "a 256-character principal id",
        ACTING_FOR_PRINCIPAL_KEY,
        { [ACTING_FOR_PRINCIPAL_KEY]: "x".repeat(256) },
      ],
      [
        'an admin flag other than "1"',
        ACTING_FOR_ADMIN_KEY,
        { [ACTING_FOR_PRINCIPAL_KEY]: "bob", [ACTING_FOR_ADMIN_KEY]: "yes" },
      ],
      ["an admin flag without a principal", ACTING_FOR_ADMIN_KEY, { [ACTING_FOR_ADMIN_KEY]: "1" }],
    ];
    for (const [name, key, metadata] of badMetadata) {
      it(`rejects ${name} with INVALID_ARGUMENT naming ${key}, and stores nothing`, async () => {
        const rows = await rowCounts(backend, location);
        const answer = await outcome(
          client.appendTurn(
            { turn: sampleTurn(`bad-meta-${key}-${name.length}`, "bad-meta"), createConversation: true },
            { metadata },
          ),
        );
        assert.equal(answer.code, status.INVALID_ARGUMENT, answer.details);
        assert.ok(answer.details.startsWith(`${key}: `), answer.details);
        assert.deepEqual(await rowCounts(backend, location), rows);
        const read = await outcome(client.getConversation({ conversationId: "alice-c" }, { metadata }));
        assert.equal(read.code, status.INVALID_ARGUMENT, read.details);
      });
    }
  });
