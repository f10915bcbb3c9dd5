import type { MessageInitShape } from "@bufbuild/protobuf";
import { type AppendTurnRequestSchema, type AppendTurnResponse, HistoryService } from "@chorus/proto";
import { codeOf, createClient, type Logger, type PromiseClient } from "@chorus/shared";
import { status } from "@grpc/grpc-js";

/** How long each attempt may take, and the request id to log and forward. */
export interface HistoryWriteOptions {
  readonly timeoutMs: number;
  readonly requestId: string;
  readonly log: Logger;
}

/**
 * Writes a turn; AppendTurn is idempotent by turn_id, so a write that failed to reach history or
 * hung is retried once on a new connection (a half-open connection would otherwise fail every
 * turn until keepalive notices it). Errors of the retry are thrown as they come.
 */
export async function appendTurnWithRetry(
  history: PromiseClient<typeof HistoryService>,
  request: MessageInitShape<typeof AppendTurnRequestSchema>,
  options: HistoryWriteOptions,
): Promise<AppendTurnResponse> {
  const deadline = () => new Date(Date.now() + options.timeoutMs);
  const { requestId } = options;
  try {
    return await history.appendTurn(request, { deadline: deadline(), requestId });
  } catch (err) {
    const code = codeOf(err);
    if (code !== status.UNAVAILABLE && code !== status.DEADLINE_EXCEEDED) throw err;
    options.log.warn(
      { err: (err as Error).message, requestId },
      "history write failed; retrying on a new connection",
    );
    // grpc-js shares connections between clients of the same target through a global pool; a
    // local pool is what makes this a new TCP connection rather than the stuck one again.
    const fresh = createClient(HistoryService, history.address, { "grpc.use_local_subchannel_pool": 1 });
    try {
      return await fresh.appendTurn(request, { deadline: deadline(), requestId });
    } finally {
      fresh.close();
    }
  }
}
