import type { Principal } from "@chorus/shared";
import { type CounterStore, type Limits, WINDOW_MS, windowStartOf } from "./counter-store.js";
import { limitsFor, unlimited } from "./effective-limits.js";
import { LimitExceededError } from "./limit-exceeded.js";
import { subjectOf } from "./limit-subject.js";
import { type TurnTokens, tokensOfTurn } from "./turn-tokens.js";

/** Gives an admitted turn's slot back; calling it again does nothing. */
export type Release = () => Promise<void>;

/** Settings of a PrincipalLimiter. */
export interface PrincipalLimiterOptions {
  /** Limits of a credential that sets none of its own (security.auth.limits; 0: unlimited). */
  readonly defaults: Limits;
  /** Longest a turn runs (orchestrator.turn_timeout_ms): a slot nobody gives back expires after it. */
  readonly turnTimeoutMs: number;
  /** Room past the turn timeout (history write, reply) before an unreleased slot expires; default 10 s. */
  readonly slotGraceMs?: number | undefined;
  /** Retry hint when every concurrent slot is taken (a slot frees when some turn ends). */
  readonly concurrentRetryMs?: number | undefined;
  readonly clock?: (() => number) | undefined;
}

const released: Release = async () => {};

/** Holds each principal to its requests per minute, tokens per minute and concurrent turns. */
export class PrincipalLimiter {
  private readonly clock: () => number;

  constructor(
    private readonly store: CounterStore,
    private readonly options: PrincipalLimiterOptions,
  ) {
    this.clock = options.clock ?? Date.now;
  }

  /** Admits one turn of `principal` (counts the request, takes a slot) or throws LimitExceededError. */
  async admit(principal: Principal): Promise<Release> {
    const limits = limitsFor(principal, this.options.defaults);
    if (unlimited(limits)) return released;
    const now = this.clock();
    const windowStartMs = windowStartOf(now);
    const subject = subjectOf(principal);
    const outcome = await this.store.admit({
      key: subject.key,
      limits,
      windowStartMs,
      slotTtlMs: this.options.turnTimeoutMs + (this.options.slotGraceMs ?? 10_000),
    });
    if (!outcome.admitted) {
      const name = outcome.refused;
      const retryAfterMs =
        name === "concurrent_turns"
          ? (this.options.concurrentRetryMs ?? 1000)
          : windowStartMs + WINDOW_MS - now;
      throw new LimitExceededError(name, limits[name], subject.label, retryAfterMs);
    }
    let done: Promise<void> | undefined;
    return () => {
      done ??= outcome.release();
      return done;
    };
  }

  /** Adds `tokens` a finished turn of `principal` used to the current minute. */
  async record(principal: Principal, tokens: number): Promise<void> {
    if (tokens <= 0 || limitsFor(principal, this.options.defaults).tokens_per_minute === 0) return;
    await this.store.addTokens(subjectOf(principal).key, windowStartOf(this.clock()), tokens);
  }

  /** Runs one turn inside `principal`'s limits: admit, run, record its tokens, release. */
  async run<R extends TurnTokens>(principal: Principal, turn: () => Promise<R>): Promise<R> {
    const release = await this.admit(principal);
    let tokens = 0;
    try {
      const response = await turn();
      tokens = tokensOfTurn(response);
      return response;
    } finally {
      await Promise.all([release(), this.record(principal, tokens)]);
    }
  }

  /** Closes the counter store. */
  close(): Promise<void> {
    return this.store.close();
  }
}
