export { onAdmission } from "./admission.js";
export { type Capacity, measureCapacity } from "./capacity.js";
export { type Decision, initialMemory, type StrategyMemory, type StrategyResult } from "./decision.js";
export { PARSL_DEFAULT_SETTINGS } from "./parsl-defaults.js";
export {
  countActiveBlocks,
  type PoolBlock,
  type PoolBlockState,
  type PoolState,
  TERMINAL_BLOCK_STATES,
} from "./pool-state.js";
export {
  type ScalingSettings,
  STRATEGIES,
  type StrategyName,
  validateScalingSettings,
} from "./settings.js";
export { decide } from "./strategy.js";
export { chorusVictims, htexVictims, rankCandidates } from "./victims.js";
