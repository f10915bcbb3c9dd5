import { chorusStrategy } from "./chorus-strategy.js";
import { noDecision, type StrategyMemory, type StrategyResult } from "./decision.js";
import { holdWhileModelFails } from "./model-failing.js";
import { parslGeneralStrategy } from "./parsl-strategy.js";
import type { PoolState } from "./pool-state.js";
import type { ScalingSettings } from "./settings.js";

/**
 * Decides what one pool should do at a poll (`now` in seconds), as Parsl's Strategy would for
 * none/simple/htex_auto_scale, or by the chorus rules.
 */
export function decide(
  state: PoolState,
  settings: ScalingSettings,
  memory: StrategyMemory,
  now: number,
): StrategyResult {
  if (settings.strategy === "none") return decideInitOnly(settings, memory);
  // Parsl checks the bad state before the first-poll init, so a broken pool launches nothing.
  if (state.badState) return { decision: noDecision("pool is in a bad state"), memory, pollAgain: false };
  let current = memory;
  if (memory.firstPoll) {
    current = { ...memory, firstPoll: false };
    // Parsl re-reads the pool after launching init_blocks and goes on with the same poll.
    if (settings.init_blocks > 0) {
      const decision = { kind: "scale_out", blocks: settings.init_blocks, reason: "init_blocks" } as const;
      return { decision, memory: current, pollAgain: true };
    }
  }
  const rule = settings.strategy === "chorus" ? chorusStrategy : parslGeneralStrategy;
  const result = rule(state, settings, current, now);
  return { ...result, decision: holdWhileModelFails(result.decision, state, settings), pollAgain: false };
}

// Parsl's `none` ignores the bad state: it launches init_blocks on the first poll, then nothing.
function decideInitOnly(settings: ScalingSettings, memory: StrategyMemory): StrategyResult {
  if (!memory.firstPoll) return { decision: noDecision("strategy none"), memory, pollAgain: false };
  const next = { ...memory, firstPoll: false };
  if (settings.init_blocks === 0)
    return { decision: noDecision("init_blocks is 0"), memory: next, pollAgain: false };
  return {
    decision: { kind: "scale_out", blocks: settings.init_blocks, reason: "init_blocks" },
    memory: next,
    pollAgain: false,
  };
}
