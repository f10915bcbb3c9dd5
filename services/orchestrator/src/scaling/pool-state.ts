/** A block's state, with the names of Parsl's JobState. */
export type PoolBlockState =
  | "UNKNOWN"
  | "PENDING"
  | "RUNNING"
  | "CANCELLED"
  | "COMPLETED"
  | "FAILED"
  | "TIMEOUT"
  | "HELD"
  | "MISSING"
  | "SCALED_IN";

/** States from which a block never comes back (Parsl's TERMINAL_STATES; HELD and UNKNOWN are not). */
export const TERMINAL_BLOCK_STATES: ReadonlySet<PoolBlockState> = new Set<PoolBlockState>([
  "CANCELLED",
  "COMPLETED",
  "FAILED",
  "TIMEOUT",
  "MISSING",
  "SCALED_IN",
]);

/** One block of a pool as the strategy sees it at a poll. */
export interface PoolBlock {
  readonly id: string;
  readonly state: PoolBlockState;
  /** Whether the block's worker has connected (HTEX: an active manager); if not, its tasks and idle time are unknown. */
  readonly registered: boolean;
  /** Tasks the block is running or holding right now. */
  readonly tasksInFlight: number;
  /** Seconds since the block last had a task. */
  readonly idleSeconds: number;
}

/** What a strategy reads from a pool at one poll. */
export interface PoolState {
  /** Outstanding tasks: queued plus running. */
  readonly tasks: number;
  /** Every block the pool knows, terminal ones included, in the order they were launched. */
  readonly blocks: readonly PoolBlock[];
  /** Set when the pool is irrecoverably broken (Parsl's bad_state_is_set): general strategies skip it. */
  readonly badState?: boolean;
  /**
   * Set while the pool's tasks fail on the model endpoint (a Chorus addition): their queue is not
   * load more blocks could serve, so strategies add none beyond min_blocks.
   */
  readonly modelFailing?: boolean;
}

/** Counts the pool's blocks that are RUNNING or PENDING, the ones Parsl counts as capacity. */
export function countActiveBlocks(state: PoolState): number {
  return state.blocks.filter((block) => block.state === "RUNNING" || block.state === "PENDING").length;
}
