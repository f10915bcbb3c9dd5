import type { Block } from "../executor/block.js";
import type { Pool, RemoteLoad } from "../executor/pool.js";
import type { PoolBlock, PoolBlockState, PoolState } from "../scaling/index.js";

function toPoolBlock(block: Block, nowMs: number, remote: RemoteLoad): PoolBlock {
  // Another orchestrator's task on the block is at least one in flight, and the block is not idle.
  const inFlight = block.inFlight + (remote.busy.has(block.id) ? 1 : 0);
  return {
    id: block.id,
    // Every BlockState but DRAINING is one of Parsl's names, and DRAINING blocks are left out.
    state: block.state as PoolBlockState,
    registered: block.state === "RUNNING",
    tasksInFlight: inFlight,
    idleSeconds: inFlight > 0 ? 0 : Math.max(0, (nowMs - block.idleSince) / 1000),
  };
}

/**
 * The pool as the strategy sees it at `nowMs`: outstanding tasks (this orchestrator's and those
 * other orchestrators report), every block that is not DRAINING (a draining block is on its way
 * out, so it is neither capacity nor a scale-in candidate), and whether its tasks fail on the model.
 */
export function snapshotPool(pool: Pool, nowMs: number, badState = false): PoolState {
  const { remote } = pool;
  const blocks = [...pool.blocks.values()]
    .filter((block) => block.state !== "DRAINING")
    .map((block) => toPoolBlock(block, nowMs, remote));
  return { tasks: pool.outstanding + remote.tasks, blocks, badState, modelFailing: pool.model.failing };
}

/** Counts the pool's RUNNING and PENDING blocks, the ones that are or will be capacity. */
export function activeBlocks(pool: Pool): number {
  let count = 0;
  for (const block of pool.blocks.values())
    if (block.state === "RUNNING" || block.state === "PENDING") count += 1;
  return count;
}
