import type { Block } from "./block.js";
import type { Pool } from "./pool.js";
import type { PoolBlock, PoolBlockState, PoolState } from "./scaling/index.js";

function toPoolBlock(block: Block, nowMs: number): PoolBlock {
  return {
    id: block.id,
    // Every BlockState but DRAINING is one of Parsl's names, and DRAINING blocks are left out.
    state: block.state as PoolBlockState,
    registered: block.state === "RUNNING",
    tasksInFlight: block.inFlight,
    idleSeconds: block.inFlight > 0 ? 0 : Math.max(0, (nowMs - block.idleSince) / 1000),
  };
}

/**
 * The pool as the strategy sees it at `nowMs`: outstanding tasks and every block that is not
 * DRAINING; a draining block is on its way out, so it is neither capacity nor a scale-in candidate.
 */
export function snapshotPool(pool: Pool, nowMs: number, badState = false): PoolState {
  const blocks = [...pool.blocks.values()]
    .filter((block) => block.state !== "DRAINING")
    .map((block) => toPoolBlock(block, nowMs));
  return { tasks: pool.outstanding, blocks, badState };
}

/** Counts the pool's RUNNING and PENDING blocks, the ones that are or will be capacity. */
export function activeBlocks(pool: Pool): number {
  let count = 0;
  for (const block of pool.blocks.values())
    if (block.state === "RUNNING" || block.state === "PENDING") count += 1;
  return count;
}
