import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AppendTurnRequestSchema, AppendTurnResponse } from "@chorus/proto";
import { codeOf, type Logger } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import type { TurnHistory } from "./turn-history.js";

/** How long each attempt may take, and the request id to log and forward. */
export interface HistoryWriteOptions {
  readonly timeoutMs: number;
  readonly requestId: string;
  /** Whose data the write is for (x-chorus-principal), sent with both attempts. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly log: Logger;
}

/**
 * Writes a turn; AppendTurn is idempotent by turn_id, so a write that failed to reach history or
 * hung is retried once on a new connection (a half-open connection would otherwise fail every
 * turn until keepalive notices it). Errors of the retry are thrown as they come.
 */
export async function appendTurnWithRetry(
  history: Pick<TurnHistory, "appendTurn" | "reconnect">,
  request: MessageInitShape<typeof AppendTurnRequestSchema>,
  options: HistoryWriteOptions,
): Promise<AppendTurnResponse> {
  const deadline = () => new Date(Date.now() + options.timeoutMs);
  const { requestId, metadata } = options;
  try {
    return await history.appendTurn(request, { deadline: deadline(), requestId, metadata });
  } catch (err) {
    const code = codeOf(err);
    if (code !== status.UNAVAILABLE && code !== status.DEADLINE_EXCEEDED) throw err;
    options.log.warn(
      { err: (err as Error).message, requestId },
      "history write failed; retrying on a new connection",
    );
    const fresh = history.reconnect();
    try {
      return await fresh.appendTurn(request, { deadline: deadline(), requestId, metadata });
    } finally {
      fresh.close();
    }
  }
}
