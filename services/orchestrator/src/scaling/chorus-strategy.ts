import { type Capacity, isOverloaded, measureCapacity, scaleInExcess, scaleOutExcess } from "./capacity.js";
import { type Decision, noDecision, type StrategyMemory } from "./decision.js";
import type { PoolState } from "./pool-state.js";
import type { ScalingSettings } from "./settings.js";
import { chorusVictims } from "./victims.js";

/** Blocks the pool needs now: Parsl's scale-out targets, raised to restore min_blocks; 0 if none. */
export function chorusScaleOut(capacity: Capacity, settings: ScalingSettings): number {
  let demand = 0;
  if (capacity.tasks > 0 && capacity.blocks < settings.max_blocks) {
    if (isOverloaded(capacity, settings)) demand = scaleOutExcess(capacity, settings);
    else if (capacity.slots === 0) demand = 1;
  }
  return Math.max(demand, settings.min_blocks - capacity.blocks);
}

/**
 * One poll of the chorus strategy (after the first-poll init): htex_auto_scale's targets, but
 * min_blocks is restored even without tasks, and scale-in only takes registered blocks with
 * nothing in flight that have been idle longer than max_idletime.
 */
export function chorusStrategy(
  state: PoolState,
  settings: ScalingSettings,
  memory: StrategyMemory,
  now: number,
): { decision: Decision; memory: StrategyMemory } {
  const capacity = measureCapacity(state, settings);
  const { tasks, blocks, slots } = capacity;
  let idleSince = tasks > 0 ? null : memory.idleSince;
  const remember = (decision: Decision) => ({ decision, memory: { ...memory, idleSince } });

  const needed = chorusScaleOut(capacity, settings);
  if (needed > 0) {
    const reason =
      blocks < settings.min_blocks ? "restoring min_blocks" : `${tasks} tasks need more than ${slots} slots`;
    return remember({ kind: "scale_out", blocks: needed, reason });
  }
  if (blocks <= settings.min_blocks) return remember(noDecision("at min_blocks"));
  if (tasks === 0) {
    idleSince ??= now;
    if (now - idleSince <= settings.max_idletime)
      return remember(noDecision("no tasks, waiting for max_idletime"));
    return remember(scaleIn(state, settings, blocks - settings.min_blocks, "pool idle past max_idletime"));
  }
  if (slots > tasks) {
    return remember(
      scaleIn(state, settings, scaleInExcess(capacity, settings), `slots ${slots} exceed tasks ${tasks}`),
    );
  }
  return remember(noDecision("no change: slots fit the tasks, or the pool is at max_blocks"));
}

function scaleIn(state: PoolState, settings: ScalingSettings, count: number, reason: string): Decision {
  const victims = count > 0 ? chorusVictims(state.blocks, count, settings.max_idletime) : [];
  if (victims.length === 0) return noDecision(`${reason}, but no block is idle past max_idletime`);
  return { kind: "scale_in", blocks: victims.length, victims, reason };
}
