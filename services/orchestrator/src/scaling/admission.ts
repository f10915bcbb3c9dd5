import { measureCapacity } from "./capacity.js";
import { chorusScaleOut } from "./chorus-strategy.js";
import { type Decision, noDecision } from "./decision.js";
import { holdWhileModelFails } from "./model-failing.js";
import type { PoolState } from "./pool-state.js";
import type { ScalingSettings } from "./settings.js";

/**
 * Decides, when tasks are admitted between polls, whether a chorus pool must scale out right away
 * instead of waiting for the next period; the state must include blocks still pending so that a
 * burst is not answered twice. Other strategies wait for the period, as in Parsl.
 */
export function onAdmission(state: PoolState, settings: ScalingSettings): Decision {
  if (settings.strategy !== "chorus") return noDecision(`${settings.strategy} scales only at the period`);
  if (state.badState) return noDecision("pool is in a bad state");
  const capacity = measureCapacity(state, settings);
  if (capacity.tasks === 0) return noDecision("no tasks admitted");
  const needed = chorusScaleOut(capacity, settings);
  if (needed === 0) return noDecision("enough slots for the admitted tasks");
  const reason = `${capacity.tasks} tasks need more than ${capacity.slots} slots`;
  return holdWhileModelFails({ kind: "scale_out", blocks: needed, reason }, state, settings);
}
