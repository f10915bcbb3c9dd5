import { type ScalingSettings, validateScalingSettings } from "./scaling-settings.js";

/** Scaling keys an agent pool takes when its `scaling` block leaves them out (times in seconds). */
export const POOL_SCALING_DEFAULTS: Omit<ScalingSettings, "workers_per_block"> = {
  strategy: "chorus",
  init_blocks: 1,
  // One warm block by default, so the first message after a quiet spell does not wait for a start.
  min_blocks: 1,
  max_blocks: 4,
  parallelism: 1,
  max_idletime: 120,
  strategy_period: 5,
};

/** An agent entry's scaling-related keys as written in the config file. */
export interface PoolScalingInput {
  readonly workers: number;
  readonly replicas?: number | undefined;
  readonly scaling?: Record<string, unknown> | undefined;
}

/** The pool's scaling settings, or what is wrong with them, each message naming its key. */
export type PoolScalingResult =
  | { readonly ok: true; readonly settings: ScalingSettings }
  | { readonly ok: false; readonly errors: string[] };

/**
 * Resolves one agent's scaling settings: its `scaling` block over the defaults, or `replicas: N`
 * as shorthand for a fixed pool (strategy none, init_blocks N); `key` is the entry's config path.
 */
export function resolvePoolScaling(agent: PoolScalingInput, key: string): PoolScalingResult {
  const { replicas, scaling, workers } = agent;
  if (replicas !== undefined && scaling !== undefined) {
    return {
      ok: false,
      errors: [`${key}.replicas: cannot be combined with scaling; use scaling.init_blocks`],
    };
  }
  // `workers` already sets the slots of a block; a second key for it could only disagree.
  if (scaling !== undefined && "workers_per_block" in scaling) {
    return { ok: false, errors: [`${key}.scaling.workers_per_block: set ${key}.workers instead`] };
  }
  const fixed =
    replicas === undefined
      ? {}
      : {
          strategy: "none",
          init_blocks: replicas,
          min_blocks: 0,
          max_blocks: Math.max(replicas, POOL_SCALING_DEFAULTS.max_blocks),
        };
  const candidate = { ...POOL_SCALING_DEFAULTS, ...fixed, ...scaling, workers_per_block: workers };
  const errors = validateScalingSettings(candidate, `${key}.scaling`);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, settings: candidate as ScalingSettings };
}
