import { setTimeout as delay } from "node:timers/promises";
import {
  codeOf,
  detailsOf,
  HISTORY_DATABASE_UNAVAILABLE,
  type Logger,
  RpcError,
  type RpcOptions,
} from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import type { HistoryCalls, HistoryConnection, TurnHistory } from "./turn-history.js";

/** How a turn's history call is bounded, and what it sends with every attempt. */
export interface HistoryCallOptions {
  /** Longest one attempt may take (history.timeout_ms). */
  readonly timeoutMs: number;
  /** The turn's deadline: no attempt runs past it. */
  readonly deadline: Date;
  readonly requestId: string;
  /** Whose data the call is for (x-chorus-principal). */
  readonly metadata: Readonly<Record<string, string>>;
  readonly log: Logger;
}

/** A history call's failure as the turn's caller sees it: history's own verdicts as they are, else UNAVAILABLE. */
export function historyFailure(err: unknown): RpcError {
  const code = codeOf(err);
  if (code === status.NOT_FOUND || code === status.INVALID_ARGUMENT || code === status.ALREADY_EXISTS)
    return err as RpcError;
  return new RpcError(status.UNAVAILABLE, `history service unavailable: ${(err as Error).message}`);
}

const FIRST_PAUSE_MS = 50;
/** Answers "database unavailable" a turn accepts (from any replica) before it fails: another replica may reach it. */
const DATABASE_DOWN_ANSWERS = 2;
const MAX_PAUSE_MS = 1000;

/**
 * Calls history until it answers or the turn's deadline passes, so a history restart costs the
 * turn a wait, not a failure (every call it makes is idempotent: reads, AppendTurn by turn_id, and
 * ClaimTurn by claim_id).
 * Each attempt waits for a connection (wait-for-ready) for at most timeoutMs. A call that failed to
 * reach history (UNAVAILABLE: its connection dropped) is tried again after a short pause; one that
 * hung (its own deadline passed) on a new connection, as a half-open connection would otherwise
 * fail every turn until keepalive noticed it. History's own verdicts are thrown as they come, and so
 * is its database being unreachable once a second answer (perhaps another replica's) says so: a
 * database outage fails turns at once rather than at their deadline.
 */
export async function callHistory<T>(
  history: TurnHistory,
  call: (history: HistoryCalls, options: RpcOptions) => Promise<T>,
  options: HistoryCallOptions,
): Promise<T> {
  const { requestId, metadata, log } = options;
  const end = options.deadline.getTime();
  let connection: HistoryCalls = history;
  let fresh: HistoryConnection | undefined;
  let pause = FIRST_PAUSE_MS;
  let databaseDown = 0;
  try {
    for (let attempt = 1; ; attempt += 1) {
      const deadline = new Date(Math.min(end, Date.now() + options.timeoutMs));
      try {
        return await call(connection, { deadline, waitForReady: true, requestId, metadata });
      } catch (err) {
        const code = codeOf(err);
        if (code !== status.UNAVAILABLE && code !== status.DEADLINE_EXCEEDED) throw err;
        if (Date.now() >= end) throw err;
        if (detailsOf(err) === HISTORY_DATABASE_UNAVAILABLE && ++databaseDown >= DATABASE_DOWN_ANSWERS)
          throw err;
        const hung = code === status.DEADLINE_EXCEEDED;
        log.warn(
          { err: (err as Error).message, requestId, attempt },
          hung ? "history call hung; retrying on a new connection" : "history call failed; retrying",
        );
        if (hung) {
          fresh?.close();
          fresh = history.reconnect();
          connection = fresh;
        }
        await delay(Math.min(pause, end - Date.now()));
        pause = Math.min(pause * 2, MAX_PAUSE_MS);
      }
    }
  } finally {
    fresh?.close();
  }
}
