import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { ClaimTurnState, HistoryService, type Turn, TurnSchema } from "@chorus/proto";
import { bind, createClient, createLogger, Metrics, serve } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { historyHandlers } from "./service.js";
import type { Scope } from "./store.js";
import { instrumentStore } from "./store-metrics.js";
import { testBackends } from "./testing/backends.js";
import { sampleTurn } from "./testing/fixtures.js";

const alice: Scope = { owner: "alice", admin: false };
const bob: Scope = { owner: "bob", admin: false };
const log = createLogger("group-commit-test", "silent");
const soon = () => ({ deadline: new Date(Date.now() + 10_000) });

const turn = (turnId: string, conversationId: string, message = "hello"): Turn =>
  create(TurnSchema, sampleTurn(turnId, conversationId, { message }));

/** Transactions committed so far and the appends they held, from chorus_history_commit_batch_size. */
async function commits(metrics: Metrics): Promise<{ transactions: number; appends: number }> {
  const metric = await metrics.registry.getSingleMetric("chorus_history_commit_batch_size")?.get();
  const value = (name: string) =>
    metric?.values.find((v) => (v as { metricName?: string }).metricName === name)?.value ?? 0;
  return {
    transactions: value("chorus_history_commit_batch_size_count"),
    appends: value("chorus_history_commit_batch_size_sum"),
  };
}

for (const backend of testBackends()) {
  describe(`PrepareTurn and group commit on ${backend.name}`, () => {
    before(() => backend.start());
    after(() => backend.stop());
    const fresh = async (options = {}) => {
      const location = await backend.fresh();
      return { location, store: await backend.open(location, options) };
    };

    it("prepares a turn in one call: claimed with the context, held without it, stored with the turn", async () => {
      const { store } = await fresh();
      await store.appendTurn(alice, turn("t1", "c1", "first"), true);
      await store.appendTurn(alice, turn("t2", "c1", "second"), true);
      const claim = (claimId: string) => ({ turnId: "t3", claimId, leaseMs: 5000 });
      const claimed = await store.prepareTurn(alice, claim("a"), "c1", 1);
      assert.equal(claimed?.claim?.state, "claimed");
      assert.deepEqual(
        claimed?.context?.turns.map((t) => t.message),
        ["second"],
        "only the latest turn",
      );
      const held = await store.prepareTurn(alice, claim("b"), "c1", 1);
      assert.equal(held?.claim?.state, "held");
      assert.equal(held?.context, undefined, "no context for a request that must wait");
      await store.appendTurn(alice, turn("t3", "c1", "third"), false);
      const stored = await store.prepareTurn(alice, claim("b"), "c1", 1);
      assert.equal(stored?.claim?.state, "stored");
      assert.equal(stored?.claim?.state === "stored" ? stored.claim.turn.message : "", "third");
      const readOnly = await store.prepareTurn(alice, undefined, "c1", 0);
      assert.deepEqual([readOnly?.claim, readOnly?.context?.turns.length], [undefined, 3]);
      await store.close();
    });

    it("answers another principal's conversation exactly like a missing one, and leaves nothing claimed", async () => {
      const { store } = await fresh();
      await store.appendTurn(alice, turn("t1", "c1"), true);
      assert.equal(
        await store.prepareTurn(bob, { turnId: "b1", claimId: "x", leaseMs: 5000 }, "c1", 5),
        undefined,
      );
      assert.equal(
        await store.prepareTurn(bob, { turnId: "b1", claimId: "x", leaseMs: 5000 }, "nope", 5),
        undefined,
      );
      const after = await store.prepareTurn(bob, { turnId: "b1", claimId: "y", leaseMs: 5000 }, undefined, 0);
      assert.equal(after?.claim?.state, "claimed", "the refused calls claimed nothing");
      await assert.rejects(
        store.prepareTurn(bob, { turnId: "t1", claimId: "z", leaseMs: 5000 }, undefined, 0),
        { name: "TurnIdTakenError" },
        "a turn_id stored in alice's conversation is taken",
      );
      await store.close();
    });

    it("commits a batch in one transaction in which a failed append fails alone", async () => {
      const { store } = await fresh();
      await store.appendTurn(alice, turn("taken", "c-alice"), true);
      const outcomes = await store.appendTurns([
        { scope: bob, turn: turn("b1", "c-bob"), createConversation: true },
        { scope: bob, turn: turn("taken", "c-bob"), createConversation: true },
        { scope: bob, turn: turn("b2", "c-alice"), createConversation: true },
        { scope: bob, turn: turn("b3", "c-bob"), createConversation: false },
        { scope: bob, turn: turn("b1", "c-bob"), createConversation: false },
      ]);
      assert.deepEqual(
        outcomes.map((o) =>
          o.ok
            ? o.result
              ? [o.result.turn.turnId, o.result.turn.seq, o.result.created]
              : "not found"
            : (o.error as Error).name,
        ),
        [["b1", 1, true], "TurnIdTakenError", "not found", ["b3", 2, true], ["b1", 1, false]],
      );
      const conversation = await store.getConversation(bob, "c-bob", 0);
      assert.deepEqual(
        conversation?.turns.map((t) => [t.turnId, t.seq, t.agentAnswers.length]),
        [
          ["b1", 1, 3],
          ["b3", 2, 3],
        ],
      );
      assert.equal(conversation?.conversation.turnCount, 2);
      await store.close();
    });

    describe("over gRPC", () => {
      let close: () => Promise<void> = async () => {};
      let client: ReturnType<typeof createClient<typeof HistoryService>>;
      let metrics: Metrics;
      let store: Awaited<ReturnType<typeof backend.open>>;
      before(async () => {
        store = await backend.open(await backend.fresh());
        metrics = new Metrics("history");
        const handlers = historyHandlers(instrumentStore(store, metrics), { maxMessageBytes: 10_000 });
        const server = await serve({
          host: "127.0.0.1",
          port: 0,
          services: [bind(HistoryService, handlers)],
          log,
        });
        client = createClient(HistoryService, server.address);
        close = async () => {
          client.close();
          await server.close(0);
          await store.close();
        };
      });
      after(() => close());

      it("group-commits concurrent appends on one stream into fewer transactions, answering each once it is stored", async () => {
        const n = 200;
        const before = await commits(metrics);
        const stream = client.appendTurns();
        for (let i = 0; i < n; i++)
          stream.write({
            id: BigInt(i + 1),
            append: { turn: turn(`g-${i}`, `gc-${i % 7}`), createConversation: true },
            actingFor: "alice",
          });
        stream.end();
        const replies = [];
        for await (const reply of stream) replies.push(reply);
        const after = await commits(metrics);
        assert.equal(replies.length, n);
        assert.deepEqual(
          new Set(replies.map((r) => r.id)),
          new Set(Array.from({ length: n }, (_, i) => BigInt(i + 1))),
        );
        assert.ok(replies.every((r) => r.outcome.case === "appended" && r.outcome.value.created));
        assert.equal(after.appends - before.appends, n);
        const transactions = after.transactions - before.transactions;
        assert.ok(transactions < n / 4, `${n} appends in ${transactions} transactions`);
        for (let c = 0; c < 7; c++) {
          const stored = await store.getConversation(alice, `gc-${c}`, 0);
          const seqs = stored?.turns.map((t) => t.seq) ?? [];
          assert.deepEqual(
            seqs,
            seqs.map((_, i) => i + 1),
            "gapless seqs in each conversation",
          );
        }
        const total = (
          await Promise.all(Array.from({ length: 7 }, (_, c) => store.getConversation(alice, `gc-${c}`, 0)))
        ).reduce((sum, c) => sum + (c?.turns.length ?? 0), 0);
        assert.equal(total, n, "every acknowledged append is stored");
      });

      it("fails only the bad item of a batch, with AppendTurn's status, and checks each item's own principal", async () => {
        await client.appendTurn(
          { turn: turn("own-1", "own-c"), createConversation: true },
          {
            ...soon(),
            metadata: { "x-chorus-principal": "alice" },
          },
        );
        const stream = client.appendTurns();
        const items = [
          { id: 1n, append: { turn: turn("ok-1", "own-c") }, actingFor: "alice" },
          { id: 2n, append: { turn: turn("steal-1", "own-c") }, actingFor: "bob" },
          { id: 3n, append: { turn: turn("own-1", "bob-c"), createConversation: true }, actingFor: "bob" },
          { id: 4n, append: { turn: turn("", "own-c") }, actingFor: "alice" },
          { id: 5n, append: { turn: turn("ok-2", "own-c") }, actingFor: "alice" },
          { id: 6n, append: { turn: turn("bad-p", "own-c") }, actingFor: "has space" },
          { id: 7n, append: { turn: turn("root-1", "own-c") }, actingFor: "root", actingForAdmin: true },
        ];
        for (const item of items) stream.write(item);
        stream.end();
        const outcomes = new Map<bigint, string>();
        for await (const reply of stream)
          outcomes.set(
            reply.id,
            reply.outcome.case === "appended"
              ? `ok ${reply.outcome.value.turn?.seq}`
              : `${status[reply.outcome.value?.code ?? 0]} ${reply.outcome.value?.message}`,
          );
        assert.deepEqual(
          [...outcomes.entries()].sort(([a], [b]) => Number(a - b)).map(([, o]) => o),
          [
            "ok 2",
            'NOT_FOUND conversation "own-c" not found',
            'ALREADY_EXISTS turn.turn_id: "own-1" is already taken; choose another',
            "INVALID_ARGUMENT turn.turn_id: is required",
            "ok 3",
            "INVALID_ARGUMENT acting_for: must be 1 to 255 visible ASCII characters (no spaces)",
            "ok 4",
          ],
        );
      });

      it("prepares a turn over gRPC: NOT_FOUND for another principal's conversation with GetConversation's message", async () => {
        const alices = { ...soon(), metadata: { "x-chorus-principal": "alice" } };
        const bobs = { ...soon(), metadata: { "x-chorus-principal": "bob" } };
        await client.appendTurn({ turn: turn("p-1", "p-c"), createConversation: true }, alices);
        const prepared = await client.prepareTurn(
          { turnId: "p-2", claimId: "c", leaseMs: 1000, conversationId: "p-c", lastTurns: 5 },
          alices,
        );
        assert.deepEqual(
          [prepared.state, prepared.turns.map((t) => t.turnId)],
          [ClaimTurnState.CLAIMED, ["p-1"]],
        );
        const refusal = async (options: typeof bobs, conversationId: string) =>
          client.prepareTurn({ turnId: "p-3", claimId: "c", leaseMs: 1000, conversationId }, options).then(
            () => "answered",
            (err: { code: number; details: string }) => `${status[err.code]} ${err.details}`,
          );
        const viaGet = await client.getConversation({ conversationId: "p-c" }, bobs).then(
          () => "answered",
          (err: { code: number; details: string }) => `${status[err.code]} ${err.details}`,
        );
        assert.equal(await refusal(bobs, "p-c"), viaGet);
        assert.equal(viaGet, 'NOT_FOUND conversation "p-c" not found');
        assert.equal(
          await refusal(bobs, "p-c"),
          (await refusal(bobs, "p-c-missing")).replace("p-c-missing", "p-c"),
        );
      });
    });
  });
}
