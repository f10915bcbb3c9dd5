// The settings are config keys, so they live beside the config schema in @chorus/shared.
export {
  DEFAULT_SCALING_SETTINGS,
  type ScalingSettings,
  STRATEGIES,
  type StrategyName,
  validateScalingSettings,
} from "@chorus/shared";
