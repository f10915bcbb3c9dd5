import { isOverloaded, measureCapacity, scaleInExcess, scaleOutExcess } from "./capacity.js";
import { type Decision, noDecision, type StrategyMemory } from "./decision.js";
import type { PoolState } from "./pool-state.js";
import type { ScalingSettings } from "./settings.js";
import { htexVictims } from "./victims.js";

/** One poll of Parsl's `_general_strategy` (after the first-poll init), for `simple` or `htex_auto_scale`. */
export function parslGeneralStrategy(
  state: PoolState,
  settings: ScalingSettings,
  memory: StrategyMemory,
  now: number,
): { decision: Decision; memory: StrategyMemory } {
  const capacity = measureCapacity(state, settings);
  const { tasks, blocks, slots } = capacity;
  let idleSince = memory.idleSince;
  // Parsl tests the timer for truthiness, so a timer started at time 0 counts as unset.
  if (tasks > 0 && idleSince) idleSince = null;
  const remember = (decision: Decision) => ({ decision, memory: { ...memory, idleSince } });

  if (tasks === 0) {
    if (blocks <= settings.min_blocks) return remember(noDecision("no tasks and at most min_blocks"));
    if (!idleSince) idleSince = now;
    if (now - idleSince > settings.max_idletime) {
      const count = blocks - settings.min_blocks;
      const reason = `no tasks for more than ${settings.max_idletime}s`;
      return remember({
        kind: "scale_in",
        blocks: count,
        victims: htexVictims(state.blocks, count, null),
        reason,
      });
    }
    return remember(noDecision("no tasks, waiting for max_idletime"));
  }
  if (isOverloaded(capacity, settings)) {
    if (blocks >= settings.max_blocks) return remember(noDecision("overloaded but at max_blocks"));
    const reason = `slots/tasks ${slots}/${tasks} below parallelism ${settings.parallelism}`;
    return remember({ kind: "scale_out", blocks: scaleOutExcess(capacity, settings), reason });
  }
  if (slots === 0) {
    if (blocks >= settings.max_blocks) return remember(noDecision("tasks without slots but at max_blocks"));
    return remember({ kind: "scale_out", blocks: 1, reason: "tasks but no slots" });
  }
  if (slots > tasks) {
    if (settings.strategy !== "htex_auto_scale")
      return remember(noDecision("simple never scales in while busy"));
    if (blocks <= settings.min_blocks) return remember(noDecision("more slots than tasks but at min_blocks"));
    const count = scaleInExcess(capacity, settings);
    const victims = htexVictims(state.blocks, count, settings.max_idletime);
    const reason = `slots ${slots} exceed tasks ${tasks}`;
    return remember({ kind: "scale_in", blocks: count, victims, reason });
  }
  return remember(noDecision("slots match tasks"));
}
