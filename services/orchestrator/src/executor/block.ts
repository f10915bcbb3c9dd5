import type { AgentService } from "@chorus/proto";
import type { PromiseClient } from "@chorus/shared";
import type { BlockState } from "../providers/block-event.js";
import type { ReplicaSpeed } from "./replica-speed.js";
import type { TaskChannel } from "./task-channel.js";

/** One agent replica as the dispatcher sees it. */
export interface Block {
  readonly id: string;
  readonly pool: string;
  state: BlockState;
  address: string;
  workers: number;
  inFlight: number;
  /** Its recent task durations, which steer tasks away from a replica slower than its peers. */
  readonly speed: ReplicaSpeed;
  /** Tasks completed on this block. */
  served: number;
  /** When the block last became idle (ms since epoch); while busy, when it last started a task. */
  idleSince: number;
  /** For Describe (usage, status); tasks go down `channel`. */
  client: PromiseClient<typeof AgentService> | undefined;
  /** The replica's task channel; absent in a pool made without channels (dispatch tests). */
  channel: TaskChannel | undefined;
}
