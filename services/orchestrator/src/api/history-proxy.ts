import type { HistoryService } from "@chorus/proto";
import {
  actingForMetadata,
  type CallContext,
  codeOf,
  hasRole,
  type Principal,
  type PromiseClient,
  RpcError,
  type ServiceHandlers,
} from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import type { Audit } from "./auth/audit.js";
import { callerOf } from "./caller.js";

/** Whether callers authenticate, and where sensitive history actions are recorded. */
export interface HistoryAccess {
  readonly authEnabled: boolean;
  readonly audit: Audit;
}

/**
 * Serves HistoryService's read side on the orchestrator's port by forwarding to the history
 * service on behalf of the caller: history answers only with the caller's own conversations
 * (an admin's: anyone's). The metadata is built here, never copied from the client. Deletes, and
 * every read by an authenticated admin (who may be reading others' data), go to the audit trail.
 */
export function historyProxyHandlers(
  history: PromiseClient<typeof HistoryService>,
  timeoutMs: number,
  access: HistoryAccess,
): ServiceHandlers<typeof HistoryService> {
  const call = (context: CallContext) => {
    const principal = callerOf(context, access.authEnabled);
    const options = {
      deadline: context.deadline ?? new Date(Date.now() + timeoutMs),
      signal: context.signal,
      requestId: context.requestId,
      metadata: actingForMetadata(principal),
    };
    return { principal, options };
  };
  const audited = (principal: Principal, always: boolean) =>
    always || (principal.via !== "local" && hasRole(principal, "admin"));
  async function forward<T>(
    context: CallContext,
    method: string,
    target: string,
    always: boolean,
    send: (options: ReturnType<typeof call>["options"]) => Promise<T>,
  ): Promise<T> {
    const { principal, options } = call(context);
    if (!audited(principal, always)) return send(options);
    const record = (result: string) =>
      access.audit.record({ principal, method, target: target.slice(0, 128), result });
    try {
      const response = await send(options);
      record("ok");
      return response;
    } catch (err) {
      record(status[codeOf(err)] ?? "UNKNOWN");
      throw err;
    }
  }
  const internal = (method: string) => async () => {
    throw new RpcError(
      status.PERMISSION_DENIED,
      `${method} is internal: only the orchestrator claims and writes turns`,
    );
  };
  return {
    appendTurn: internal("AppendTurn"),
    claimTurn: internal("ClaimTurn"),
    releaseTurn: internal("ReleaseTurn"),
    prepareTurn: internal("PrepareTurn"),
    appendTurns: async function* () {
      yield* [];
      await internal("AppendTurns")();
    },
    getTurn: (request, context) =>
      forward(context, "GetTurn", `turn/${request.turnId}`, false, (o) => history.getTurn(request, o)),
    getConversation: (request, context) =>
      forward(context, "GetConversation", `conversation/${request.conversationId}`, false, (o) =>
        history.getConversation(request, o),
      ),
    listConversations: (request, context) =>
      forward(context, "ListConversations", "conversations", false, (o) =>
        history.listConversations(request, o),
      ),
    searchTurns: (request, context) =>
      forward(context, "SearchTurns", `search/${request.conversationId || "*"}`, false, (o) =>
        history.searchTurns(request, o),
      ),
    deleteConversation: (request, context) =>
      forward(context, "DeleteConversation", `conversation/${request.conversationId}`, true, (o) =>
        history.deleteConversation(request, o),
      ),
    exportConversation(request, context) {
      const { principal, options } = call(context);
      if (audited(principal, false))
        access.audit.record({
          principal,
          method: "ExportConversation",
          target: `conversation/${request.conversationId}`.slice(0, 128),
          result: "started",
        });
      return history.exportConversation(request, options);
    },
  };
}
