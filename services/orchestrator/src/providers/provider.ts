import type { ScalingSettings } from "../scaling/index.js";
import type { BlockEvent } from "./block-event.js";

/**
 * Something a provider saw happen to a pool outside Chorus: its size set elsewhere (found at
 * start, or `kubectl scale`), or its scaling settings overridden (Deployment annotations).
 */
export type PoolNotice =
  | {
      readonly kind: "resized";
      readonly pool: string;
      /** The block count now asked of the platform. */
      readonly blocks: number;
      /** The count before; equal to `blocks` for the first notice. */
      readonly previous: number;
      /** True for the size found when the provider started: the pool's state at start, not a change. */
      readonly first: boolean;
    }
  | {
      readonly kind: "settings";
      readonly pool: string;
      readonly overrides: Partial<ScalingSettings>;
      /** Overrides that were malformed and ignored, each naming where it came from. */
      readonly warnings: readonly string[];
    };

/** How many more blocks a provider lets the strategies add now, across every pool, and why no more. */
export interface ProviderRoom {
  readonly blocks: number;
  /** The limit, for scaling events: what it is and where it comes from. */
  readonly limit: string;
}

/** Where blocks come from: local child processes or Kubernetes pods. */
export interface Provider {
  /** Provider name for status and logs. */
  readonly name: string;
  /**
   * Starts `count` new blocks for `pool`; returns their ids (they begin PENDING). A provider whose
   * blocks get their real ids later (Kubernetes pods) returns placeholder ids and later reports
   * each placeholder ended as a real block takes its place.
   */
  launch(pool: string, count: number): string[];
  /** Stops the given blocks. */
  cancel(blockIds: readonly string[]): Promise<void>;
  /**
   * Ends a block that stopped answering (a hung process or pod) so that it is reported FAILED and
   * replaced; absent: the provider cannot, and the block stays until its platform notices.
   */
  fail?(blockId: string, reason: string): void;
  /** Subscribes to block state changes. */
  onEvent(listener: (event: BlockEvent) => void): void;
  /** Stops every block this provider started. */
  close(): Promise<void>;
  /** Subscribes to changes made outside Chorus; only providers whose pools can change elsewhere have it. */
  onNotice?(listener: (notice: PoolNotice) => void): void;
  /** Sets a pool's block count directly, letting the platform choose which blocks go. */
  resize?(pool: string, blocks: number): void;
  /** Tells the provider whether this orchestrator leads (changes pools) or only follows (routes). */
  lead?(leading: boolean): void;
  /**
   * Room for blocks the strategies add (scale-out, admission; not init_blocks, min_blocks or counts
   * set by hand). Absent: no limit of the provider's own (on Kubernetes the scheduler places pods).
   */
  room?(): ProviderRoom;
}
