import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import {
  type ChatService,
  Health,
  HealthCheckResponse_ServingStatus,
  type HistoryService,
} from "@chorus/proto";
import { createClient, type PromiseClient } from "../grpc-client.js";
import { codeOf } from "../status.js";

/** How one turn of a load run ended, as its client saw it. */
export interface TurnOutcome {
  readonly turnId: string;
  readonly ok: boolean;
  /** gRPC code of the last failure (0 when it succeeded). */
  readonly code: number;
  readonly error: string;
  /** When the client first sent it and when it last heard back (ms since the epoch). */
  readonly sentAt: number;
  readonly endedAt: number;
  /** Calls made with this turn id (more than 1 only when retrying). */
  readonly attempts: number;
  /** The answer was the stored turn replayed (a retry of a turn that had been stored). */
  readonly replayed: boolean;
  /** The aggregated answer the client got ("" when it failed). */
  readonly answer: string;
}

/** A bounded load: `count` turns sent at `perSecond`, each in a new conversation with its own turn id. */
export interface LoadOptions {
  readonly count: number;
  readonly perSecond: number;
  /** Deadline of each call. */
  readonly callTimeoutMs: number;
  /** Retry a failed turn with the same turn id until this long after it was first sent (0: never). */
  readonly retryForMs?: number;
  /** Called once per turn as it is sent, with its index. */
  readonly onSend?: (index: number) => void;
}

async function oneTurn(chat: PromiseClient<typeof ChatService>, options: LoadOptions): Promise<TurnOutcome> {
  const turnId = `load-${randomUUID()}`;
  const sentAt = Date.now();
  let attempts = 0;
  for (;;) {
    attempts += 1;
    try {
      const deadline = new Date(Date.now() + options.callTimeoutMs);
      const response = await chat.chat({ message: `load turn ${turnId}`, turnId }, { deadline });
      const { replayed, answer } = response;
      return {
        turnId,
        ok: true,
        code: 0,
        error: "",
        sentAt,
        endedAt: Date.now(),
        attempts,
        replayed,
        answer,
      };
    } catch (err) {
      const failed = { turnId, ok: false, code: codeOf(err) ?? -1, error: (err as Error).message };
      if (Date.now() - sentAt >= (options.retryForMs ?? 0))
        return { ...failed, sentAt, endedAt: Date.now(), attempts, replayed: false, answer: "" };
      await delay(100);
    }
  }
}

/** Sends the load and waits for every turn to end (bounded by the call deadlines and retry time). */
export async function runLoad(
  chat: PromiseClient<typeof ChatService>,
  options: LoadOptions,
): Promise<TurnOutcome[]> {
  const turns: Promise<TurnOutcome>[] = [];
  const start = Date.now();
  for (let i = 0; i < options.count; i += 1) {
    const due = start + (i * 1000) / options.perSecond;
    if (due > Date.now()) await delay(due - Date.now());
    options.onSend?.(i);
    turns.push(oneTurn(chat, options));
  }
  return Promise.all(turns);
}

/** The answer of every stored turn, by turn id (a turn id stored twice has two), read through HistoryService. */
export async function storedAnswers(
  history: PromiseClient<typeof HistoryService>,
): Promise<Map<string, string[]>> {
  const deadline = () => ({ deadline: new Date(Date.now() + 30_000) });
  const stored = new Map<string, string[]>();
  let pageToken = "";
  do {
    const page = await history.listConversations({ pageSize: 100, pageToken }, deadline());
    // A page's conversations are read at once (at most pageSize calls in flight).
    const pages = await Promise.all(
      page.conversations.map(({ conversationId }) => history.getConversation({ conversationId }, deadline())),
    );
    for (const { turns } of pages) {
      for (const turn of turns) stored.set(turn.turnId, [...(stored.get(turn.turnId) ?? []), turn.answer]);
    }
    pageToken = page.nextPageToken;
  } while (pageToken);
  return stored;
}

/** How many times each turn id is stored, read through HistoryService (every conversation, every turn). */
export async function storedTurnIds(
  history: PromiseClient<typeof HistoryService>,
): Promise<Map<string, number>> {
  const answers = await storedAnswers(history);
  return new Map([...answers].map(([id, list]) => [id, list.length]));
}

/** What clients got against what history holds. */
export interface Reconciliation {
  readonly ok: number;
  readonly failed: readonly TurnOutcome[];
  /** Turns a client got an answer for that history does not hold. */
  readonly lost: readonly string[];
  /** Turn ids history holds more than once. */
  readonly duplicated: readonly string[];
  /** Turns history holds whose client got no answer. */
  readonly storedButFailed: readonly string[];
  /** Stored turns with ids no client of this load sent. */
  readonly unknown: readonly string[];
  /** Answered turns whose stored answer is not the one the client got (only when given the answers). */
  readonly mismatched: readonly string[];
}

/** Compares a load's outcomes with the turns history holds (counts, or the stored answers themselves). */
export function reconcile(
  outcomes: readonly TurnOutcome[],
  storedTurns: ReadonlyMap<string, number> | ReadonlyMap<string, readonly string[]>,
): Reconciliation {
  const sent = new Set(outcomes.map((o) => o.turnId));
  const answers = new Map<string, readonly string[]>();
  const stored = new Map<string, number>();
  for (const [id, value] of storedTurns) {
    if (typeof value === "number") stored.set(id, value);
    else {
      answers.set(id, value);
      stored.set(id, value.length);
    }
  }
  const mismatched = outcomes.filter(
    (o) => o.ok && answers.has(o.turnId) && !answers.get(o.turnId)?.every((a) => a === o.answer),
  );
  return {
    ok: outcomes.filter((o) => o.ok).length,
    failed: outcomes.filter((o) => !o.ok),
    lost: outcomes.filter((o) => o.ok && !stored.has(o.turnId)).map((o) => o.turnId),
    duplicated: [...stored].filter(([, count]) => count > 1).map(([id]) => id),
    storedButFailed: outcomes.filter((o) => !o.ok && stored.has(o.turnId)).map((o) => o.turnId),
    unknown: [...stored.keys()].filter((id) => !sent.has(id)),
    mismatched: mismatched.map((o) => o.turnId),
  };
}

/**
 * Polls grpc.health.v1 at `address` (a fresh connection each time) until it has failed once, then
 * until it answers SERVING; resolves with when it did (bounded).
 */
export async function servingAgain(address: string, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  let wentDown = false;
  while (Date.now() < end) {
    const health = createClient(Health, address, { "grpc.use_local_subchannel_pool": 1 });
    try {
      const deadline = new Date(Math.min(end, Date.now() + 250));
      const { status } = await health.check({ service: "" }, { deadline });
      if (wentDown && status === HealthCheckResponse_ServingStatus.SERVING) return Date.now();
    } catch {
      wentDown = true;
    } finally {
      health.close();
    }
    await delay(20);
  }
  throw new Error(`${address} was not SERVING again within ${timeoutMs} ms`);
}
