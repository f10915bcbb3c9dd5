import { type Decision, noDecision } from "./decision.js";
import { countActiveBlocks, type PoolState } from "./pool-state.js";
import type { ScalingSettings } from "./settings.js";

/**
 * Holds back a scale-out while the pool's tasks fail on the model endpoint: more blocks cannot make
 * a dead model answer. Only what restores min_blocks is kept.
 */
export function holdWhileModelFails(
  decision: Decision,
  state: PoolState,
  settings: ScalingSettings,
): Decision {
  if (!state.modelFailing || decision.kind !== "scale_out") return decision;
  const restore = settings.min_blocks - countActiveBlocks(state);
  if (restore > 0) {
    return { kind: "scale_out", blocks: Math.min(decision.blocks, restore), reason: "restoring min_blocks" };
  }
  return noDecision(`tasks fail on the model endpoint, so no block is added (${decision.reason})`);
}
