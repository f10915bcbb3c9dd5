import type { AgentService } from "@chorus/proto";
import type { PromiseClient } from "@chorus/shared";
import type { BlockState } from "../providers/block-event.js";

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
