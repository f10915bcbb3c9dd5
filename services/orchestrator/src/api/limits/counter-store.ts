/** Length of one counting window: limits are per fixed, clock-aligned minute. */
export const WINDOW_MS = 60_000;

/** The limits a principal is held to. */
export type LimitName = "concurrent_turns" | "requests_per_minute" | "tokens_per_minute";

/** Which limits are checked, in the order they are checked (the first one reached refuses). */
export const LIMIT_ORDER: readonly LimitName[] = [
  "concurrent_turns",
  "requests_per_minute",
  "tokens_per_minute",
];

/** One value per limit; 0 means unlimited. */
export type Limits = { readonly [name in LimitName]: number };

/** One admission to decide: whose counters, which limits, and the window it falls in. */
export interface AdmitRequest {
  /** Whose counters (a credential or a principal), as made by `subjectOf`. */
  readonly key: string;
  readonly limits: Limits;
  /** Start of the current window, a multiple of WINDOW_MS. */
  readonly windowStartMs: number;
  /** How long a turn slot may go untouched before the store forgets it (a crashed replica's turns). */
  readonly slotTtlMs: number;
}

/** An admitted turn holds a slot until `release`; a refused one names the limit it reached. */
export type AdmitOutcome =
  | { readonly admitted: true; readonly release: () => Promise<void> }
  | { readonly admitted: false; readonly refused: LimitName };

/** Counts requests, tokens and turns in flight per key; admission is atomic (check all, then count). */
export interface CounterStore {
  /** Refuses when a limit is already reached; otherwise counts one request and takes one turn slot. */
  admit(request: AdmitRequest): Promise<AdmitOutcome>;
  /** Adds a finished turn's model tokens to the key's window starting at `windowStartMs`. */
  addTokens(key: string, windowStartMs: number, tokens: number): Promise<void>;
  /** Lets go of connections and timers. */
  close(): Promise<void>;
}

/** Start of the window that `nowMs` falls in. */
export function windowStartOf(nowMs: number): number {
  return nowMs - (nowMs % WINDOW_MS);
}

/** The first limit (in LIMIT_ORDER) that `used` has already reached; undefined when none has. */
export function reachedLimit(limits: Limits, used: Limits): LimitName | undefined {
  return LIMIT_ORDER.find((name) => limits[name] > 0 && used[name] >= limits[name]);
}
