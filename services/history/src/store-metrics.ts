import { LATENCY_BUCKETS, type Metrics } from "@chorus/shared";
import { Counter, Histogram } from "prom-client";
import type { Store } from "./store.js";

/** Wraps `store` so every operation is timed and every new turn counted in `metrics`; call once per registry. */
export function instrumentStore(store: Store, metrics: Metrics): Store {
  const stored = new Counter({
    name: "chorus_history_turns_stored_total",
    help: "Turns written to the store (idempotent repeats excluded).",
    registers: [metrics.registry],
  });
  const seconds = new Histogram({
    name: "chorus_history_store_duration_seconds",
    help: "Store operation time by operation.",
    labelNames: ["operation"],
    buckets: LATENCY_BUCKETS,
    registers: [metrics.registry],
  });
  const batchSize = new Histogram({
    name: "chorus_history_commit_batch_size",
    help: "Appends committed per transaction (group commit); its count is the number of append transactions.",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [metrics.registry],
  });
  const timed = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    const end = seconds.startTimer({ operation });
    try {
      return await run();
    } finally {
      end();
    }
  };
  return {
    appendTurn: async (scope, turn, createConversation) => {
      const result = await timed("append_turn", () => store.appendTurn(scope, turn, createConversation));
      if (result?.created) stored.inc();
      return result;
    },
    appendTurns: async (items) => {
      const outcomes = await timed("append_turns", () => store.appendTurns(items));
      batchSize.observe(items.length);
      stored.inc(outcomes.filter((o) => o.ok && o.result?.created).length);
      return outcomes;
    },
    prepareTurn: (scope, claim, conversationId, lastTurns) =>
      timed("prepare_turn", () => store.prepareTurn(scope, claim, conversationId, lastTurns)),
    claimTurn: (scope, turnId, claimId, leaseMs) =>
      timed("claim_turn", () => store.claimTurn(scope, turnId, claimId, leaseMs)),
    releaseTurn: (scope, turnId, claimId) =>
      timed("release_turn", () => store.releaseTurn(scope, turnId, claimId)),
    getTurn: (scope, turnId) => timed("get_turn", () => store.getTurn(scope, turnId)),
    getConversation: (scope, id, lastTurns) =>
      timed("get_conversation", () => store.getConversation(scope, id, lastTurns)),
    listConversations: (scope, pageSize, after) =>
      timed("list_conversations", () => store.listConversations(scope, pageSize, after)),
    searchTurns: (scope, query, id, limit) =>
      timed("search_turns", () => store.searchTurns(scope, query, id, limit)),
    deleteConversation: (scope, id) =>
      timed("delete_conversation", () => store.deleteConversation(scope, id)),
    // Not timed: an export's duration is paced by the client reading the stream, not by the store.
    iterateTurns: (scope, id) => store.iterateTurns(scope, id),
    conversationExists: (scope, id) =>
      timed("conversation_exists", () => store.conversationExists(scope, id)),
  };
}
