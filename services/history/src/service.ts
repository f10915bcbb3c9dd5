import { ClaimTurnState, type HistoryService } from "@chorus/proto";
import {
  actingFor,
  type CallContext,
  quoted,
  RpcError,
  type ServiceHandlers,
  validateId,
} from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { encodePageToken } from "./page-token.js";
import { validateCount, validateLease, validatePageToken, validateQuery, validateTurn } from "./requests.js";
import { type Scope, type Store, TurnIdTakenError } from "./store.js";

/** Limits the handlers enforce beyond the proto's own rules. */
export interface HistoryLimits {
  /** Longest turn message accepted, in UTF-8 bytes. */
  readonly maxMessageBytes: number;
}

/** The same answer for a missing id and for another principal's, so existence never leaks. */
function notFound(what: string, id: string): never {
  throw new RpcError(status.NOT_FOUND, `${what} ${quoted(id)} not found`);
}

/**
 * The scope of a call: the principal the orchestrator says it acts for. Trusted because only the
 * orchestrator can reach history (mTLS in the mesh, loopback otherwise); see acting-for.ts.
 */
function scopeOf(context: CallContext): Scope {
  const principal = actingFor(context.metadata);
  return { owner: principal.id, admin: principal.admin };
}

/** Runs a store call; a turn_id already taken outside the scope is ALREADY_EXISTS, naming no owner. */
async function inScope<T>(field: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof TurnIdTakenError)) throw err;
    throw new RpcError(
      status.ALREADY_EXISTS,
      `${field}: ${quoted(err.turnId)} is already taken; choose another`,
    );
  }
}

const CLAIM_STATES = {
  stored: ClaimTurnState.STORED,
  held: ClaimTurnState.HELD,
  claimed: ClaimTurnState.CLAIMED,
} as const;

/**
 * HistoryService handlers over a Store: validate, call the store in the caller's scope, map
 * "missing" (or another principal's) to NOT_FOUND.
 */
export function historyHandlers(store: Store, limits: HistoryLimits): ServiceHandlers<typeof HistoryService> {
  return {
    async appendTurn(request, context) {
      const scope = scopeOf(context);
      const turn = validateTurn(request.turn, limits.maxMessageBytes);
      const result = await inScope("turn.turn_id", () =>
        store.appendTurn(scope, turn, request.createConversation),
      );
      return result ?? notFound("conversation", turn.conversationId);
    },

    async claimTurn(request, context) {
      const scope = scopeOf(context);
      const turnId = validateId("turn_id", request.turnId);
      const claimId = validateId("claim_id", request.claimId);
      const leaseMs = validateLease(request.leaseMs);
      const result = await inScope("turn_id", () => store.claimTurn(scope, turnId, claimId, leaseMs));
      return {
        state: CLAIM_STATES[result.state],
        turn: result.state === "stored" ? result.turn : undefined,
        retryAfterMs: result.state === "held" ? Math.max(0, Math.ceil(result.retryAfterMs)) : 0,
      };
    },

    async releaseTurn(request, context) {
      const scope = scopeOf(context);
      const turnId = validateId("turn_id", request.turnId);
      const claimId = validateId("claim_id", request.claimId);
      return { released: await store.releaseTurn(scope, turnId, claimId) };
    },

    async getTurn(request, context) {
      const scope = scopeOf(context);
      const turnId = validateId("turn_id", request.turnId);
      return { turn: (await store.getTurn(scope, turnId)) ?? notFound("turn", turnId) };
    },

    async getConversation(request, context) {
      const scope = scopeOf(context);
      const conversationId = validateId("conversation_id", request.conversationId);
      const found = await store.getConversation(scope, conversationId, request.lastTurns);
      return found ?? notFound("conversation", conversationId);
    },

    async listConversations(request, context) {
      const scope = scopeOf(context);
      const pageSize = validateCount("page_size", request.pageSize);
      const after = validatePageToken(request.pageToken);
      const page = await store.listConversations(scope, pageSize, after);
      return {
        conversations: page.conversations,
        nextPageToken: page.next ? encodePageToken(page.next) : "",
      };
    },

    async searchTurns(request, context) {
      const scope = scopeOf(context);
      const query = validateQuery(request.query);
      const conversationId =
        request.conversationId === "" ? undefined : validateId("conversation_id", request.conversationId);
      const limit = validateCount("limit", request.limit);
      const turns = await store.searchTurns(scope, query, conversationId, limit);
      return { turns: turns ?? notFound("conversation", request.conversationId) };
    },

    async deleteConversation(request, context) {
      const scope = scopeOf(context);
      const conversationId = validateId("conversation_id", request.conversationId);
      const deletedTurns = await store.deleteConversation(scope, conversationId);
      return { deletedTurns: deletedTurns ?? notFound("conversation", conversationId) };
    },

    async *exportConversation(request, context) {
      const scope = scopeOf(context);
      const conversationId = validateId("conversation_id", request.conversationId);
      if (!(await store.conversationExists(scope, conversationId))) notFound("conversation", conversationId);
      for await (const turn of store.iterateTurns(scope, conversationId)) {
        if (context.signal.aborted) return;
        yield { turn };
      }
    },
  };
}
