/** The scaling strategies a pool can use: Parsl's three and Chorus's own. */
export const STRATEGIES = ["none", "simple", "htex_auto_scale", "chorus"] as const;

/** The name of one scaling strategy. */
export type StrategyName = (typeof STRATEGIES)[number];

/** How one agent pool scales its blocks, with Parsl's knob names (times in seconds). */
export interface ScalingSettings {
  strategy: StrategyName;
  init_blocks: number;
  min_blocks: number;
  max_blocks: number;
  parallelism: number;
  workers_per_block: number;
  max_idletime: number;
  strategy_period: number;
}

/** Parsl's defaults: Config (simple, 5 s, 120 s) and LocalProvider (1/0/1 blocks, parallelism 1). */
export const DEFAULT_SCALING_SETTINGS: ScalingSettings = {
  strategy: "simple",
  init_blocks: 1,
  min_blocks: 0,
  max_blocks: 1,
  parallelism: 1,
  workers_per_block: 1,
  max_idletime: 120,
  strategy_period: 5,
};

const COUNT_KEYS = ["init_blocks", "min_blocks", "max_blocks"] as const;
const KNOWN_KEYS = new Set<string>(Object.keys(DEFAULT_SCALING_SETTINGS));

/** Lists what is wrong with a scaling settings object, each message naming its key; empty when valid. */
export function validateScalingSettings(value: unknown, prefix = "scaling"): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return [`${prefix}: must be a mapping`];
  }
  const input = value as Record<string, unknown>;
  const errors: string[] = [];
  const fail = (key: string, message: string) => errors.push(`${prefix}.${key}: ${message}`);
  for (const key of Object.keys(input)) if (!KNOWN_KEYS.has(key)) fail(key, "unknown key");
  if (!STRATEGIES.includes(input.strategy as StrategyName)) {
    fail("strategy", `must be one of ${STRATEGIES.join(", ")}`);
  }
  for (const key of COUNT_KEYS) {
    if (!isNonNegativeInteger(input[key])) fail(key, "must be an integer >= 0");
  }
  // Parsl accepts init_blocks outside min..max (the strategy corrects it later), so Chorus does too.
  if (isNonNegativeInteger(input.min_blocks) && isNonNegativeInteger(input.max_blocks)) {
    if (input.min_blocks > input.max_blocks) fail("min_blocks", "must not exceed max_blocks");
  }
  if (!isFiniteNumber(input.parallelism) || input.parallelism < 0 || input.parallelism > 1) {
    fail("parallelism", "must be a number from 0 to 1");
  }
  // Parsl divides by the slots per block, so a block must hold at least one worker.
  if (!isNonNegativeInteger(input.workers_per_block) || input.workers_per_block < 1) {
    fail("workers_per_block", "must be an integer >= 1");
  }
  if (!isFiniteNumber(input.max_idletime) || input.max_idletime < 0) {
    fail("max_idletime", "must be a number of seconds >= 0");
  }
  if (!isFiniteNumber(input.strategy_period) || input.strategy_period <= 0) {
    fail("strategy_period", "must be a number of seconds > 0");
  }
  return errors;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

function isNonNegativeInteger(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0;
}
