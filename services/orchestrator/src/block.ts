import type { AgentService } from "@chorus/proto";
import type { PromiseClient } from "@chorus/shared";

/** Parsl's block states, plus DRAINING: no new tasks, stopped once idle. */
export type BlockState =
  | "PENDING"
  | "RUNNING"
  | "DRAINING"
  | "CANCELLED"
  | "COMPLETED"
  | "FAILED"
  | "TIMEOUT"
  | "HELD"
  | "MISSING"
  | "SCALED_IN";

/** States from which a block never comes back. */
export const TERMINAL_STATES: ReadonlySet<BlockState> = new Set([
  "CANCELLED",
  "COMPLETED",
  "FAILED",
  "TIMEOUT",
  "MISSING",
  "SCALED_IN",
]);

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
