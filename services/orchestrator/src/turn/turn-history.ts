import { HistoryService } from "@chorus/proto";
import { createClient, type PromiseClient } from "@chorus/shared";

type HistoryClient = PromiseClient<typeof HistoryService>;

/** A connection of its own for one retried write; the caller closes it. */
export type HistoryConnection = Pick<HistoryClient, "appendTurn" | "close">;

/** The history calls a turn makes: replay lookup, context, and the turn's write. */
export interface TurnHistory extends Pick<HistoryClient, "getTurn" | "getConversation" | "appendTurn"> {
  /** A client on a new connection, so a retry does not go down a stuck one again. */
  reconnect(): HistoryConnection;
}

/** The history calls of a gRPC client, with reconnect dialling a fresh TCP connection. */
export function grpcTurnHistory(client: HistoryClient): TurnHistory {
  return {
    getTurn: client.getTurn,
    getConversation: client.getConversation,
    appendTurn: client.appendTurn,
    // grpc-js shares connections between clients of the same target through a global pool; a
    // local pool is what makes this a new TCP connection rather than the stuck one again.
    reconnect: () =>
      createClient(HistoryService, client.address, { "grpc.use_local_subchannel_pool": 1 }, client.transport),
  };
}
