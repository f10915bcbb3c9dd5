import { POOL_SCALING_DEFAULTS, type ScalingSettings } from "./scaling.js";
import { validateScalingSettings } from "./validate-scaling.js";

/** An agent entry's scaling-related keys as written in the config file. */
export interface PoolScalingInput {
  readonly workers: number;
  readonly replicas?: number | undefined;
  readonly scaling?: Partial<Omit<ScalingSettings, "workers_per_block">> | undefined;
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
