import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { ClaimTurnState, type Turn } from "@chorus/proto";
import { codeOf, quoted, RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { callHistory, type HistoryCallOptions, historyFailure } from "./history-call.js";
import type { TurnHistory } from "./turn-history.js";

/** A turn_id this request holds in history, its lease renewed until the claim is ended. */
export interface HeldClaim {
  /** Stops renewing; `release` also ends the claim at once (the turn failed), so a waiting request goes ahead. */
  end(release: boolean): void;
}

/**
 * What a claim found: the turn already stored, or the claim this request now holds — with the
 * conversation's latest turns when they were asked for and came in the same call (PrepareTurn).
 */
export type ClaimOutcome =
  | { readonly stored: Turn }
  | { readonly claim: HeldClaim; readonly context?: readonly Turn[] | undefined };

/** The conversation whose latest turns a claim also reads (the turn's context). */
export interface ContextRequest {
  readonly conversationId: string;
  readonly lastTurns: number;
}

/** Histories that answered PrepareTurn UNIMPLEMENTED (an older build): they get ClaimTurn from then on. */
const withoutPrepare = new WeakSet<TurnHistory>();

/** Pauses between looks at a claim another request holds: short at first, as its turn may be nearly done. */
const FIRST_POLL_MS = 20;
const MAX_POLL_MS = 250;

const NO_CLAIM: HeldClaim = { end: () => {} };

/** Renews the claim every third of its lease until ended; a renewal that fails is tried again at the next. */
function renewed(history: TurnHistory, request: ClaimRequest, call: HistoryCallOptions): HeldClaim {
  const options = () => ({
    deadline: new Date(Date.now() + call.timeoutMs),
    requestId: call.requestId,
    metadata: call.metadata,
  });
  const timer = setInterval(
    () => {
      history.claimTurn(request, options()).then(
        (response) => {
          if (response.state === ClaimTurnState.HELD)
            call.log.warn(
              { turnId: request.turnId },
              "turn claim lost: its lease ran out and another request took it",
            );
        },
        (err: unknown) => call.log.debug({ err, turnId: request.turnId }, "turn claim renewal failed"),
      );
    },
    Math.max(10, Math.floor(request.leaseMs / 3)),
  );
  timer.unref();
  return {
    end(release) {
      clearInterval(timer);
      if (!release) return;
      const { turnId, claimId } = request;
      history.releaseTurn({ turnId, claimId }, options()).catch((err: unknown) => {
        call.log.debug({ err, turnId }, "turn claim release failed; it lapses with its lease");
      });
    },
  };
}

interface ClaimRequest {
  readonly turnId: string;
  readonly claimId: string;
  readonly leaseMs: number;
}

/** Looks the turn up as before claims existed, for a history that does not know ClaimTurn. */
async function storedOnly(
  history: TurnHistory,
  turnId: string,
  call: HistoryCallOptions,
): Promise<ClaimOutcome> {
  try {
    const response = await callHistory(history, (h, options) => h.getTurn({ turnId }, options), call);
    if (response.turn) return { stored: response.turn };
  } catch (err) {
    if (codeOf(err) !== status.NOT_FOUND) throw historyFailure(err);
  }
  return { claim: NO_CLAIM };
}

/**
 * Claims `turnId` in history (as the call's principal) before its turn runs, so requests with the
 * same turn_id on any orchestrator sharing that history answer it once: resolves to the stored turn
 * if there is one, else waits while another request's claim holds it — polling until that turn is
 * stored, or its claim is released or lapses and this request takes it — within the deadline.
 * With `context`, the same call (PrepareTurn) also reads the conversation's latest turns, owner-
 * checked (NOT_FOUND when not the caller's, and nothing is claimed). A history without PrepareTurn
 * gets ClaimTurn (the context is then the caller's to read), and one without ClaimTurn (an older
 * build still) the replay lookup alone.
 */
export async function claimTurn(
  history: TurnHistory,
  turnId: string,
  leaseMs: number,
  call: HistoryCallOptions,
  signal: AbortSignal,
  context?: ContextRequest,
): Promise<ClaimOutcome> {
  const request: ClaimRequest = { turnId, claimId: randomUUID(), leaseMs };
  const prepareRequest = {
    ...request,
    conversationId: context?.conversationId ?? "",
    lastTurns: context?.lastTurns ?? 0,
  };
  let pause = FIRST_POLL_MS;
  for (let first = true; ; first = false) {
    if (!first && Date.now() >= call.deadline.getTime()) {
      throw new RpcError(
        status.DEADLINE_EXCEEDED,
        `turn_id ${quoted(turnId)} is being answered by another request, which did not finish before the deadline`,
      );
    }
    const prepare = !withoutPrepare.has(history);
    let response: { state: ClaimTurnState; turn?: Turn | undefined; retryAfterMs: number; turns?: Turn[] };
    try {
      response = prepare
        ? await callHistory(history, (h, options) => h.prepareTurn(prepareRequest, options), call)
        : await callHistory(history, (h, options) => h.claimTurn(request, options), call);
    } catch (err) {
      if (codeOf(err) !== status.UNIMPLEMENTED) throw historyFailure(err);
      if (!prepare) return storedOnly(history, turnId, call);
      withoutPrepare.add(history);
      call.log.info("history does not know PrepareTurn; claiming with ClaimTurn");
      continue;
    }
    if (response.state === ClaimTurnState.STORED && response.turn) return { stored: response.turn };
    if (response.state === ClaimTurnState.CLAIMED)
      return {
        claim: renewed(history, request, call),
        context: prepare && context ? response.turns : undefined,
      };
    const left = Math.max(1, call.deadline.getTime() - Date.now());
    try {
      await delay(Math.min(pause, left, Math.max(1, response.retryAfterMs)), undefined, { signal });
    } catch {
      throw new RpcError(status.CANCELLED, "turn cancelled by the caller");
    }
    pause = Math.min(pause * 2, MAX_POLL_MS);
  }
}
