import type { HistoryService } from "@chorus/proto";
import { RpcError, type ServiceHandlers, validateId } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { encodePageToken } from "./page-token.js";
import { validateCount, validatePageToken, validateQuery, validateTurn } from "./requests.js";
import type { Store } from "./store.js";

/** Limits the handlers enforce beyond the proto's own rules. */
export interface HistoryLimits {
  /** Longest turn message accepted, in UTF-8 bytes. */
  readonly maxMessageBytes: number;
}

function notFound(what: string, id: string): never {
  throw new RpcError(status.NOT_FOUND, `${what} "${id}" not found`);
}

/** HistoryService handlers over a Store: validate, call the store, map "missing" to NOT_FOUND. */
export function historyHandlers(store: Store, limits: HistoryLimits): ServiceHandlers<typeof HistoryService> {
  return {
    async appendTurn(request) {
      const turn = validateTurn(request.turn, limits.maxMessageBytes);
      const result = await store.appendTurn(turn, request.createConversation);
      return result ?? notFound("conversation", turn.conversationId);
    },

    async getTurn(request) {
      const turnId = validateId("turn_id", request.turnId);
      return { turn: (await store.getTurn(turnId)) ?? notFound("turn", turnId) };
    },

    async getConversation(request) {
      const conversationId = validateId("conversation_id", request.conversationId);
      const found = await store.getConversation(conversationId, request.lastTurns);
      return found ?? notFound("conversation", conversationId);
    },

    async listConversations(request) {
      const pageSize = validateCount("page_size", request.pageSize);
      const after = validatePageToken(request.pageToken);
      const page = await store.listConversations(pageSize, after);
      return {
        conversations: page.conversations,
        nextPageToken: page.next ? encodePageToken(page.next) : "",
      };
    },

    async searchTurns(request) {
      const query = validateQuery(request.query);
      const conversationId =
        request.conversationId === "" ? undefined : validateId("conversation_id", request.conversationId);
      const limit = validateCount("limit", request.limit);
      return { turns: await store.searchTurns(query, conversationId, limit) };
    },

    async deleteConversation(request) {
      const conversationId = validateId("conversation_id", request.conversationId);
      const deletedTurns = await store.deleteConversation(conversationId);
      return { deletedTurns: deletedTurns ?? notFound("conversation", conversationId) };
    },

    async *exportConversation(request, context) {
      const conversationId = validateId("conversation_id", request.conversationId);
      if (!(await store.conversationExists(conversationId))) notFound("conversation", conversationId);
      for await (const turn of store.iterateTurns(conversationId)) {
        if (context.signal.aborted) return;
        yield { turn };
      }
    },
  };
}
