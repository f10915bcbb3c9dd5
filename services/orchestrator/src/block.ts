import type { AgentService } from "@chorus/proto";
import type { PromiseClient } from "@chorus/shared";
import { type PoolBlockState, TERMINAL_BLOCK_STATES } from "./scaling/pool-state.js";

/** Parsl's block states (without UNKNOWN), plus DRAINING: no new tasks, stopped once idle. */
export type BlockState = Exclude<PoolBlockState, "UNKNOWN"> | "DRAINING";

/** States from which a block never comes back. */
export const TERMINAL_STATES = TERMINAL_BLOCK_STATES as ReadonlySet<BlockState>;

/** One agent replica as the dispatcher sees it. */
export interface Block {
  readonly id: string;
  readonly pool: string;
  state: BlockState;
  address: string;
  workers: number;
  inFlight: number;
  /** Tasks completed on this block. */
  served: number;
  /** When the block last became idle (ms since epoch); while busy, when it last started a task. */
  idleSince: number;
  client: PromiseClient<typeof AgentService> | undefined;
}

/** A change of one block's state, reported by a provider. */
export interface BlockEvent {
  readonly blockId: string;
  readonly pool: string;
  readonly state: BlockState;
  readonly address?: string | undefined;
  readonly detail?: string | undefined;
}
