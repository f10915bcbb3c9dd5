import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { ClaimTurnState, HistoryService, type Turn, TurnSchema } from "@chorus/proto";
import {
  actingForMetadata,
  bind,
  createClient,
  createLogger,
  type Principal,
  type RpcOptions,
  serve,
} from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { historyHandlers } from "./service.js";
import { type Scope, TurnIdTakenError } from "./store.js";
import { testBackends } from "./testing/backends.js";
import { sampleTurn } from "./testing/fixtures.js";

const alice: Scope = { owner: "alice", admin: false };
const bob: Scope = { owner: "bob", admin: false };
const admin: Scope = { owner: "root", admin: true };

const turn = (turnId: string, conversationId: string): Turn =>
  create(TurnSchema, sampleTurn(turnId, conversationId));

const as = (id: string, admin = false): RpcOptions => {
  const principal: Principal = { id, roles: new Set([admin ? "admin" : "user"]), via: "key" };
  return { metadata: actingForMetadata(principal) };
};

for (const backend of testBackends()) {
  describe(`Turn claims on ${backend.name}`, () => {
    before(() => backend.start());
    after(() => backend.stop());
    const fresh = async (options = {}) => {
      const location = await backend.fresh();
      return { location, store: await backend.open(location, options) };
    };

    it("holds a turn_id for one claim: another is held until the lease runs out, the same claim renews it", async () => {
      let now = 100_000;
      const { store } = await fresh({ now: () => now });
      assert.deepEqual(await store.claimTurn(alice, "t1", "a", 5000), { state: "claimed" });
      assert.deepEqual(await store.claimTurn(alice, "t1", "b", 5000), { state: "held", retryAfterMs: 5000 });
      now += 3000;
      assert.deepEqual(await store.claimTurn(alice, "t1", "a", 5000), { state: "claimed" }, "renewed");
      assert.deepEqual(await store.claimTurn(alice, "t1", "b", 5000), { state: "held", retryAfterMs: 5000 });
      now += 4999;
      assert.equal((await store.claimTurn(alice, "t1", "b", 5000)).state, "held");
      now += 1;
      assert.deepEqual(await store.claimTurn(alice, "t1", "b", 5000), { state: "claimed" }, "taken over");
      assert.equal((await store.claimTurn(alice, "t1", "a", 5000)).state, "held", "the old claim lost it");
      await store.close();
    });

    it("answers every claim with the stored turn once it is stored, the claim ended with the write", async () => {
      const { location, store } = await fresh();
      assert.equal((await store.claimTurn(alice, "t1", "a", 60_000)).state, "claimed");
      const appended = await store.appendTurn(alice, turn("t1", "c1"), true);
      assert.equal(await backend.count(location, "SELECT COUNT(*) FROM turn_claims"), 0);
      for (const claimId of ["a", "b"]) {
        const result = await store.claimTurn(alice, "t1", claimId, 60_000);
        assert.deepEqual(result, { state: "stored", turn: appended?.turn }, claimId);
      }
      assert.equal(await backend.count(location, "SELECT COUNT(*) FROM turn_claims"), 0);
      await store.close();
    });

    it("lets a released claim be taken at once, and releases only the claim named", async () => {
      const { store } = await fresh();
      await store.claimTurn(alice, "t1", "a", 60_000);
      assert.equal(await store.releaseTurn(alice, "t1", "b"), false);
      assert.equal(await store.releaseTurn(bob, "t1", "a"), false);
      assert.equal((await store.claimTurn(alice, "t1", "b", 60_000)).state, "held");
      assert.equal(await store.releaseTurn(alice, "t1", "a"), true);
      assert.equal(await store.releaseTurn(alice, "t1", "a"), false);
      assert.deepEqual(await store.claimTurn(alice, "t1", "b", 60_000), { state: "claimed" });
      await store.close();
    });

    it("keeps claims per owner: another owner's never holds, and a turn_id stored in another owner's conversation is taken", async () => {
      const { store } = await fresh();
      assert.equal((await store.claimTurn(alice, "t1", "a", 60_000)).state, "claimed");
      assert.equal((await store.claimTurn(bob, "t1", "b", 60_000)).state, "claimed");
      assert.equal((await store.claimTurn(alice, "t1", "c", 60_000)).state, "held");
      assert.equal((await store.claimTurn(bob, "t1", "c", 60_000)).state, "held");
      const appended = await store.appendTurn(alice, turn("t1", "alices"), true);
      await assert.rejects(store.claimTurn(bob, "t1", "b", 60_000), TurnIdTakenError);
      await assert.rejects(store.claimTurn(bob, "t1", "d", 60_000), TurnIdTakenError);
      assert.deepEqual(await store.claimTurn(admin, "t1", "r", 60_000), {
        state: "stored",
        turn: appended?.turn,
      });
      await store.close();
    });

    it("gives a turn_id to exactly one of many claims made at once through two stores on one location", async () => {
      const location = await backend.fresh();
      const [a, b] = [await backend.open(location), await backend.open(location)];
      for (let round = 0; round < 5; round++) {
        const results = await Promise.all(
          Array.from({ length: 16 }, (_, i) =>
            (i % 2 ? a : b).claimTurn(alice, `race-${round}`, `c${i}`, 60_000),
          ),
        );
        assert.equal(results.filter((r) => r.state === "claimed").length, 1, `round ${round}`);
        assert.equal(results.filter((r) => r.state === "held").length, 15, `round ${round}`);
      }
      await a.close();
      await b.close();
    });

    it("removes claims whose leases ran out", async () => {
      let now = 100_000;
      const { location, store } = await fresh({ now: () => now });
      await store.claimTurn(alice, "old-1", "a", 10);
      await store.claimTurn(bob, "old-2", "a", 10);
      now += 120_000;
      await store.claimTurn(alice, "new", "a", 60_000);
      assert.equal(await backend.count(location, "SELECT COUNT(*) FROM turn_claims"), 1);
      await store.close();
    });

    it("serves ClaimTurn and ReleaseTurn over gRPC: states, the stored turn, ALREADY_EXISTS across principals, bad input refused", async () => {
      const { store } = await fresh();
      const server = await serve({
        host: "127.0.0.1",
        port: 0,
        services: [bind(HistoryService, historyHandlers(store, { maxMessageBytes: 1024 }))],
        log: createLogger("claims-test", "silent"),
      });
      const client = createClient(HistoryService, server.address);
      try {
        const claim = (claimId: string, who = as("alice"), leaseMs = 60_000) =>
          client.claimTurn({ turnId: "g1", claimId, leaseMs }, who);
        assert.equal((await claim("a")).state, ClaimTurnState.CLAIMED);
        const held = await claim("b");
        assert.equal(held.state, ClaimTurnState.HELD);
        assert.ok(held.retryAfterMs > 59_000 && held.retryAfterMs <= 60_000, `${held.retryAfterMs}`);
        assert.equal((await claim("b", as("bob"))).state, ClaimTurnState.CLAIMED);
        assert.equal((await client.releaseTurn({ turnId: "g1", claimId: "b" }, as("bob"))).released, true);
        await client.appendTurn({ turn: sampleTurn("g1", "gc"), createConversation: true }, as("alice"));
        const stored = await claim("b");
        assert.deepEqual(
          [stored.state, stored.turn?.turnId, stored.turn?.seq],
          [ClaimTurnState.STORED, "g1", 1],
        );
        await assert.rejects(claim("b", as("bob")), {
          code: status.ALREADY_EXISTS,
          details: 'turn_id: "g1" is already taken; choose another',
        });
        assert.equal((await claim("r", as("root", true))).state, ClaimTurnState.STORED);
        for (const leaseMs of [0, 600_001]) {
          await assert.rejects(claim("a", as("alice"), leaseMs), (err: { code: number; details: string }) => {
            assert.equal(err.code, status.INVALID_ARGUMENT);
            assert.match(err.details, /^lease_ms: /);
            return true;
          });
        }
        await assert.rejects(claim("bad id"), { code: status.INVALID_ARGUMENT });
        await assert.rejects(client.releaseTurn({ turnId: "g1", claimId: "" }, as("alice")), {
          code: status.INVALID_ARGUMENT,
        });
      } finally {
        client.close();
        await server.close(100);
        await store.close();
      }
    });
  });
}
