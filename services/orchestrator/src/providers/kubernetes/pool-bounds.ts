import {
  type ScalingSettings,
  STRATEGIES,
  type StrategyName,
  validateScalingSettings,
} from "../../scaling/index.js";

/** The Deployment annotations that override a pool's scaling settings while it runs. */
export const BOUND_ANNOTATIONS = {
  min_blocks: "chorus.dev/min-blocks",
  max_blocks: "chorus.dev/max-blocks",
  strategy: "chorus.dev/strategy",
} as const;

/** The settings a Deployment's annotations override. */
export type BoundsOverrides = Partial<Pick<ScalingSettings, "min_blocks" | "max_blocks" | "strategy">>;

/** What a Deployment's annotations ask for: the valid overrides and a warning for each value ignored. */
export interface BoundsReading {
  readonly overrides: BoundsOverrides;
  readonly warnings: readonly string[];
}

const MAX_COUNT = 10_000;

function parseCount(key: string, value: string, warnings: string[]): number | undefined {
  const trimmed = value.trim();
  const count = /^\d{1,9}$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (Number.isInteger(count) && count <= MAX_COUNT) return count;
  warnings.push(`${key}="${value}" ignored: must be a whole number from 0 to ${MAX_COUNT}`);
  return undefined;
}

/**
 * Reads chorus.dev/min-blocks, chorus.dev/max-blocks and chorus.dev/strategy over `base` (the
 * config's settings); a value that is malformed, or that would put min above max, is left out
 * with a warning naming its annotation.
 */
export function readBounds(
  annotations: Readonly<Record<string, string>> | undefined,
  base: ScalingSettings,
): BoundsReading {
  const warnings: string[] = [];
  const overrides: BoundsOverrides = {};
  const found = annotations ?? {};
  const min = found[BOUND_ANNOTATIONS.min_blocks];
  const max = found[BOUND_ANNOTATIONS.max_blocks];
  const strategy = found[BOUND_ANNOTATIONS.strategy];
  if (min !== undefined) overrides.min_blocks = parseCount(BOUND_ANNOTATIONS.min_blocks, min, warnings);
  if (max !== undefined) overrides.max_blocks = parseCount(BOUND_ANNOTATIONS.max_blocks, max, warnings);
  if (strategy !== undefined) {
    if (STRATEGIES.includes(strategy.trim() as StrategyName))
      overrides.strategy = strategy.trim() as StrategyName;
    else
      warnings.push(
        `${BOUND_ANNOTATIONS.strategy}="${strategy}" ignored: must be one of ${STRATEGIES.join(", ")}`,
      );
  }
  const lower = overrides.min_blocks ?? base.min_blocks;
  const upper = overrides.max_blocks ?? base.max_blocks;
  if (lower > upper) {
    // Drop whichever annotation caused the clash (both when both are set): the pair must agree.
    const culprits = (["min_blocks", "max_blocks"] as const).filter((key) => overrides[key] !== undefined);
    const named = culprits.map((key) => `${BOUND_ANNOTATIONS[key]}=${overrides[key]}`).join(" and ");
    warnings.push(`${named} ignored: min-blocks ${lower} would exceed max-blocks ${upper}`);
    for (const key of culprits) delete overrides[key];
  }
  for (const key of Object.keys(overrides) as (keyof BoundsOverrides)[]) {
    if (overrides[key] === undefined) delete overrides[key];
  }
  // The config check is the last word, so an annotation can never produce settings a file could not.
  const errors = validateScalingSettings({ ...base, ...overrides });
  if (errors.length > 0)
    return { overrides: {}, warnings: [...warnings, ...errors.map((e) => `ignored: ${e}`)] };
  return { overrides, warnings };
}
