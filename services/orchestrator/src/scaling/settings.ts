// The settings are config keys, so their schema lives in @chorus/config; the strategies use them here.
export { type ScalingSettings, STRATEGIES, type StrategyName, validateScalingSettings } from "@chorus/config";
