import { HistoryService } from "@chorus/proto";
import { createClient, type PromiseClient } from "@chorus/shared";
import type { ClientOptions } from "@grpc/grpc-js";

type HistoryClient = PromiseClient<typeof HistoryService>;

/**
 * The history calls a turn makes: its turn_id's claim and context in one (PrepareTurn; ClaimTurn or
 * GetTurn, and GetConversation, from a history without it), and the turn's write.
 */
export type HistoryCalls = Pick<
  HistoryClient,
  "getTurn" | "getConversation" | "appendTurn" | "claimTurn" | "releaseTurn" | "prepareTurn"
>;

/** The history calls on a connection of their own; the caller closes it. */
export interface HistoryConnection extends HistoryCalls {
  close(): void;
}

/** The history calls on the orchestrator's shared connection, and a way to a new one. */
export interface TurnHistory extends HistoryCalls {
  /** A client on a new connection, so a retry does not go down a stuck one again. */
  reconnect(): HistoryConnection;
}

/**
 * Channel options of every client of history: after history restarts, a channel reconnects within
 * half a second instead of sitting out grpc-js's default backoff (1 s, growing to 2 minutes).
 */
export const HISTORY_CHANNEL_OPTIONS: ClientOptions = {
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 500,
};

/** The history calls of a gRPC client, with reconnect dialling a fresh TCP connection. */
export function grpcTurnHistory(client: HistoryClient): TurnHistory {
  return {
    getTurn: client.getTurn,
    getConversation: client.getConversation,
    appendTurn: client.appendTurn,
    claimTurn: client.claimTurn,
    releaseTurn: client.releaseTurn,
    prepareTurn: client.prepareTurn,
    // grpc-js shares connections between clients of the same target through a global pool; a
    // local pool is what makes this a new TCP connection rather than the stuck one again.
    reconnect: () =>
      createClient(
        HistoryService,
        client.address,
        { ...HISTORY_CHANNEL_OPTIONS, "grpc.use_local_subchannel_pool": 1 },
        client.transport,
      ),
  };
}
