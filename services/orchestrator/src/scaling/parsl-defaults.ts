import type { ScalingSettings } from "./settings.js";

/** Parsl's own defaults: Config (simple, 5 s, 120 s) and LocalProvider (1/0/1 blocks, parallelism 1). */
export const PARSL_DEFAULT_SETTINGS: ScalingSettings = {
  strategy: "simple",
  init_blocks: 1,
  min_blocks: 0,
  max_blocks: 1,
  parallelism: 1,
  workers_per_block: 1,
  max_idletime: 120,
  strategy_period: 5,
};
