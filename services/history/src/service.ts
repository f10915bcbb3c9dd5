import {
  type AppendTurnRequest,
  type AppendTurnsRequest,
  ClaimTurnState,
  type HistoryService,
} from "@chorus/proto";
import {
  actingFor,
  type CallContext,
  codeOf,
  detailsOf,
  invalidArgument,
  isStatusError,
  isValidPrincipalId,
  type Logger,
  PRINCIPAL_ID_MAX_CHARS,
  quoted,
  RpcError,
  type ServiceHandlers,
  UNTAGGED_CALL,
  validateId,
} from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { serveAppendStream } from "./append-stream.js";
import { GroupCommit, type GroupCommitSettings } from "./group-commit.js";
import { encodePageToken } from "./page-token.js";
import { validateCount, validateLease, validatePageToken, validateQuery, validateTurn } from "./requests.js";
import { type ClaimResult, type Scope, type Store, TurnIdTakenError } from "./store.js";

/** Limits the handlers enforce beyond the proto's own rules. */
export interface HistoryLimits {
  /** Longest turn message accepted, in UTF-8 bytes. */
  readonly maxMessageBytes: number;
}

/** How appends are committed and streamed. */
export interface HistoryAppendOptions {
  /** history.group_commit (default: 128 per transaction, no added wait). */
  readonly groupCommit?: GroupCommitSettings;
  /** Most unanswered appends one AppendTurns stream may have (history.stream_max_in_flight). */
  readonly streamMaxInFlight?: number;
  /** Aborted when the server shuts down: AppendTurns streams stop reading and end once answered. */
  readonly closing?: AbortSignal;
  /** Where an append's unexpected error is logged (its caller sees only INTERNAL). */
  readonly log?: Logger;
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

/** The scope an AppendTurns item names for itself ("whose data this touches"), checked as actingFor checks metadata. */
function itemScope(request: AppendTurnsRequest): Scope {
  if (request.actingFor === "") {
    if (request.actingForAdmin) invalidArgument("acting_for_admin", "needs acting_for");
    return { owner: UNTAGGED_CALL.id, admin: UNTAGGED_CALL.admin };
  }
  if (!isValidPrincipalId(request.actingFor))
    invalidArgument(
      "acting_for",
      `must be 1 to ${PRINCIPAL_ID_MAX_CHARS} visible ASCII characters (no spaces)`,
    );
  return { owner: request.actingFor, admin: request.actingForAdmin };
}

const CLAIM_STATES = {
  stored: ClaimTurnState.STORED,
  held: ClaimTurnState.HELD,
  claimed: ClaimTurnState.CLAIMED,
} as const;

/** A claim's outcome as ClaimTurn (and PrepareTurn) answer it. */
function claimReply(result: ClaimResult) {
  return {
    state: CLAIM_STATES[result.state],
    turn: result.state === "stored" ? result.turn : undefined,
    retryAfterMs: result.state === "held" ? Math.max(0, Math.ceil(result.retryAfterMs)) : 0,
  };
}

/**
 * HistoryService handlers over a Store: validate, call the store in the caller's scope, map
 * "missing" (or another principal's) to NOT_FOUND.
 */
export function historyHandlers(
  store: Store,
  limits: HistoryLimits,
  appends: HistoryAppendOptions = {},
): ServiceHandlers<typeof HistoryService> {
  const commits = new GroupCommit(store, appends.groupCommit ?? { max_batch: 128, max_wait_ms: 0 });
  /** One append in `scope`, group-committed, answered as AppendTurn answers. */
  const append = async (scope: Scope, request: AppendTurnRequest) => {
    const turn = validateTurn(request.turn, limits.maxMessageBytes);
    const result = await inScope("turn.turn_id", () =>
      commits.append({ scope, turn, createConversation: request.createConversation }),
    );
    return result ?? notFound("conversation", turn.conversationId);
  };
  /** One AppendTurns item: its reply, or its own error as a status (unexpected ones logged, sent as INTERNAL). */
  const streamed = async (request: AppendTurnsRequest) => {
    try {
      if (!request.append) invalidArgument("append", "is required");
      const result = await append(itemScope(request), request.append);
      return { id: request.id, outcome: { case: "appended" as const, value: result } };
    } catch (err) {
      const known = err instanceof RpcError || (isStatusError(err) && err.code !== status.OK);
      if (!known) appends.log?.error({ err }, "AppendTurns item failed unexpectedly");
      const error = known
        ? { code: codeOf(err), message: detailsOf(err) }
        : { code: status.INTERNAL, message: "internal error" };
      return { id: request.id, outcome: { case: "error" as const, value: error } };
    }
  };
  return {
    async appendTurn(request, context) {
      return append(scopeOf(context), request);
    },

    appendTurns(requests, context) {
      return serveAppendStream(
        requests,
        context,
        streamed,
        appends.streamMaxInFlight ?? 512,
        appends.closing,
      );
    },

    async prepareTurn(request, context) {
      const scope = scopeOf(context);
      const claim =
        request.turnId === ""
          ? undefined
          : {
              turnId: validateId("turn_id", request.turnId),
              claimId: validateId("claim_id", request.claimId),
              leaseMs: validateLease(request.leaseMs),
            };
      const conversationId =
        request.conversationId === "" ? undefined : validateId("conversation_id", request.conversationId);
      const found = await inScope("turn_id", () =>
        store.prepareTurn(scope, claim, conversationId, request.lastTurns),
      );
      if (!found) return notFound("conversation", request.conversationId);
      return {
        ...(found.claim ? claimReply(found.claim) : {}),
        conversation: found.context?.conversation,
        turns: found.context?.turns ?? [],
      };
    },

    async claimTurn(request, context) {
      const scope = scopeOf(context);
      const turnId = validateId("turn_id", request.turnId);
      const claimId = validateId("claim_id", request.claimId);
      const leaseMs = validateLease(request.leaseMs);
      return claimReply(await inScope("turn_id", () => store.claimTurn(scope, turnId, claimId, leaseMs)));
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
