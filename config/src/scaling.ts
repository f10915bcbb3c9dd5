import { z } from "zod";

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

const count = (description: string) =>
  z
    .number({ error: "must be an integer >= 0" })
    .int({ error: "must be an integer >= 0" })
    .min(0, { error: "must be an integer >= 0" })
    .meta({ description });

/** The keys of an agent's `scaling:` block, each with its pool default; `workers` sets the slots. */
export const scalingKeys = {
  strategy: z.enum(STRATEGIES, { error: `must be one of ${STRATEGIES.join(", ")}` }).meta({
    description:
      "none | simple | htex_auto_scale (Parsl's own) | chorus (safe scale-in, scales at admission).",
  }),
  init_blocks: count(
    "Replicas started at start-up (on Kubernetes when the pool's Deployment is created; helm upgrade keeps the live count).",
  ),
  min_blocks: count("Fewest replicas (chorus restores it); 0 lets an idle pool scale to zero."),
  max_blocks: count("Most replicas."),
  parallelism: z
    .number({ error: "must be a number from 0 to 1" })
    .min(0, { error: "must be a number from 0 to 1" })
    .max(1, { error: "must be a number from 0 to 1" })
    .meta({ description: "Worker slots wanted per outstanding task, 0..1." }),
  max_idletime: z
    .number({ error: "must be a number of seconds >= 0" })
    .min(0, { error: "must be a number of seconds >= 0" })
    .meta({ description: "Seconds idle before replicas are scaled in." }),
  strategy_period: z
    .number({ error: "must be a number of seconds > 0" })
    .positive({ error: "must be a number of seconds > 0" })
    .meta({ description: "Seconds between strategy polls." }),
};

const workersPerBlock = z
  .number({ error: "must be an integer >= 1" })
  .int({ error: "must be an integer >= 1" })
  // Parsl divides by the slots per block, so a block must hold at least one worker.
  .min(1, { error: "must be an integer >= 1" });

/** A whole, resolved scaling settings object, as the strategies use it. */
export const scalingSettingsSchema = z
  .object({ ...scalingKeys, workers_per_block: workersPerBlock })
  .strict()
  // Parsl accepts init_blocks outside min..max (the strategy corrects it later), so Chorus does too.
  .refine((s) => s.min_blocks <= s.max_blocks, { error: "must not exceed max_blocks", path: ["min_blocks"] });
