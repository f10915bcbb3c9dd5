import type { HistoryService } from "@chorus/proto";
import { type CallContext, type PromiseClient, RpcError, type ServiceHandlers } from "@chorus/shared";
import { status } from "@grpc/grpc-js";

/** Serves HistoryService's read side on the orchestrator's port by forwarding to the history service. */
export function historyProxyHandlers(
  history: PromiseClient<typeof HistoryService>,
  timeoutMs: number,
): ServiceHandlers<typeof HistoryService> {
  const options = (context: CallContext) => ({
    deadline: context.deadline ?? new Date(Date.now() + timeoutMs),
    signal: context.signal,
    requestId: context.requestId,
  });
  return {
    async appendTurn() {
      throw new RpcError(
        status.PERMISSION_DENIED,
        "AppendTurn is internal: turns are written by the orchestrator",
      );
    },
    getTurn: (request, context) => history.getTurn(request, options(context)),
    getConversation: (request, context) => history.getConversation(request, options(context)),
    listConversations: (request, context) => history.listConversations(request, options(context)),
    searchTurns: (request, context) => history.searchTurns(request, options(context)),
    deleteConversation: (request, context) => history.deleteConversation(request, options(context)),
    exportConversation: (request, context) => history.exportConversation(request, options(context)),
  };
}
