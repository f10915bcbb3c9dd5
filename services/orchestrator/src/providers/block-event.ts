import { type PoolBlockState, TERMINAL_BLOCK_STATES } from "../scaling/pool-state.js";

/** Parsl's block states (without UNKNOWN), plus DRAINING: no new tasks, stopped once idle. */
export type BlockState = Exclude<PoolBlockState, "UNKNOWN"> | "DRAINING";

/** States from which a block never comes back. */
export const TERMINAL_STATES = TERMINAL_BLOCK_STATES as ReadonlySet<BlockState>;

/** A change of one block's state, reported by a provider. */
export interface BlockEvent {
  readonly blockId: string;
  readonly pool: string;
  readonly state: BlockState;
  readonly address?: string | undefined;
  readonly detail?: string | undefined;
}
