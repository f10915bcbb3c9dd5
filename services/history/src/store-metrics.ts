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
  const timed = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    const end = seconds.startTimer({ operation });
    try {
      return await run();
    } finally {
      end();
    }
  };
  return {
    appendTurn: async (turn, createConversation) => {
      const result = await timed("append_turn", () => store.appendTurn(turn, createConversation));
      if (result?.created) stored.inc();
      return result;
    },
    getTurn: (turnId) => timed("get_turn", () => store.getTurn(turnId)),
    getConversation: (id, lastTurns) => timed("get_conversation", () => store.getConversation(id, lastTurns)),
    listConversations: (pageSize, after) =>
      timed("list_conversations", () => store.listConversations(pageSize, after)),
    searchTurns: (query, id, limit) => timed("search_turns", () => store.searchTurns(query, id, limit)),
    deleteConversation: (id) => timed("delete_conversation", () => store.deleteConversation(id)),
    // Not timed: an export's duration is paced by the client reading the stream, not by the store.
    iterateTurns: (id) => store.iterateTurns(id),
    conversationExists: (id) => timed("conversation_exists", () => store.conversationExists(id)),
  };
}
