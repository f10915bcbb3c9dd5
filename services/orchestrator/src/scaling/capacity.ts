import { countActiveBlocks, type PoolState } from "./pool-state.js";
import type { ScalingSettings } from "./settings.js";

/** The numbers every strategy rule reads from a pool, computed as Parsl does. */
export interface Capacity {
  /** Outstanding tasks. */
  readonly tasks: number;
  /** RUNNING plus PENDING blocks: a pending block already counts as capacity. */
  readonly blocks: number;
  /** Worker slots of one block. */
  readonly perBlock: number;
  /** Worker slots of all active blocks. */
  readonly slots: number;
}

/** Measures a pool's tasks, active blocks and slots. */
export function measureCapacity(state: PoolState, settings: ScalingSettings): Capacity {
  const blocks = countActiveBlocks(state);
  const perBlock = settings.workers_per_block;
  return { tasks: state.tasks, blocks, perBlock, slots: blocks * perBlock };
}

/** True when the slots per task fall below parallelism (Parsl's case 2); needs tasks > 0. */
export function isOverloaded(capacity: Capacity, settings: ScalingSettings): boolean {
  return capacity.slots / capacity.tasks < settings.parallelism;
}

/** Blocks to add when overloaded: enough for tasks × parallelism slots, capped at max_blocks. */
export function scaleOutExcess(capacity: Capacity, settings: ScalingSettings): number {
  const excessSlots = Math.ceil(capacity.tasks * settings.parallelism - capacity.slots);
  const excessBlocks = Math.ceil(excessSlots / capacity.perBlock);
  return Math.min(excessBlocks, settings.max_blocks - capacity.blocks);
}

/** Blocks to remove when slots exceed tasks × parallelism, floored, never below min_blocks. */
export function scaleInExcess(capacity: Capacity, settings: ScalingSettings): number {
  const excessSlots = Math.floor(capacity.slots - capacity.tasks * settings.parallelism);
  const excessBlocks = Math.floor(excessSlots / capacity.perBlock);
  return Math.min(excessBlocks, capacity.blocks - settings.min_blocks);
}
