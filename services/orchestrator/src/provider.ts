import type { BlockEvent } from "./block.js";

/** Where blocks come from: local child processes or Kubernetes pods. */
export interface Provider {
  /** Provider name for status and logs. */
  readonly name: string;
  /** Starts `count` new blocks for `pool`; returns their ids (they begin PENDING). */
  launch(pool: string, count: number): string[];
  /** Stops the given blocks. */
  cancel(blockIds: readonly string[]): Promise<void>;
  /** Subscribes to block state changes. */
  onEvent(listener: (event: BlockEvent) => void): void;
  /** Stops every block this provider started. */
  close(): Promise<void>;
}
