/** What a strategy asks the pool to do at one poll. */
export type Decision =
  | { readonly kind: "none"; readonly reason: string }
  | { readonly kind: "scale_out"; readonly blocks: number; readonly reason: string }
  | {
      readonly kind: "scale_in";
      /** The count the rule asked for; `victims` can be shorter (too few eligible blocks) or, by a Parsl quirk, longer. */
      readonly blocks: number;
      /** The blocks to cancel, in the order chosen. */
      readonly victims: readonly string[];
      readonly reason: string;
    };

/** What a strategy remembers about one pool between polls (Parsl's per-executor entry). */
export interface StrategyMemory {
  /** True until the first poll has launched init_blocks. */
  readonly firstPoll: boolean;
  /** When the pool was first seen with no tasks and surplus blocks (seconds), or null. */
  readonly idleSince: number | null;
}

/** A decision, the memory for the next poll, and whether to poll again at once. */
export interface StrategyResult {
  readonly decision: Decision;
  readonly memory: StrategyMemory;
  /** True after the first poll's init_blocks scale-out: apply it, then call `decide` again with the same `now`. */
  readonly pollAgain: boolean;
}

/** Returns the memory of a pool that has not been polled yet. */
export function initialMemory(): StrategyMemory {
  return { firstPoll: true, idleSince: null };
}

/** Returns a decision to do nothing, saying why. */
export function noDecision(reason: string): Decision {
  return { kind: "none", reason };
}
