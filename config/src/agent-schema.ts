import { z } from "zod";
import { POOL_SCALING_DEFAULTS, scalingKeys } from "./scaling.js";
import { about, positiveInt } from "./schema-parts.js";

/** An agent's `scaling:` block: any of the pool's scaling keys, each defaulting to the pool default. */
export const scalingInputSchema = z
  .object(
    Object.fromEntries(
      Object.entries(scalingKeys).map(([key, schema]) => [
        key,
        schema.optional().meta({ default: POOL_SCALING_DEFAULTS[key as keyof typeof POOL_SCALING_DEFAULTS] }),
      ]),
    ) as { [K in keyof typeof scalingKeys]: z.ZodOptional<(typeof scalingKeys)[K]> },
  )
  // `workers` already sets the slots of a block; a second key for it could only disagree.
  .extend({
    workers_per_block: z
      .never({ error: "set the agent's workers instead" })
      .optional()
      .meta(about("Not accepted: the agent's workers sets the slots of a block.")),
  })
  .strict()
  // Checked with the defaults filled in, and even when other keys are wrong, so every error is listed.
  .refine(
    (s) => {
      const min = s.min_blocks ?? POOL_SCALING_DEFAULTS.min_blocks;
      const max = s.max_blocks ?? POOL_SCALING_DEFAULTS.max_blocks;
      return !(Number.isInteger(min) && Number.isInteger(max)) || min <= max;
    },
    {
      error: "must not exceed max_blocks",
      path: ["min_blocks"],
      when: (payload) => typeof payload.value === "object" && payload.value !== null,
    },
  );

/** An agent pool's hedging: a second copy of a slow task on another replica, the first answer taken. */
export const hedgeSchema = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .meta(
        about(
          "Hedge slow tasks: one that has run longer than the pool's recent p95 is sent to another replica with a free slot too; the first answer wins and the other is cancelled. Tasks whose caller streams are not hedged.",
        ),
      ),
    min_delay_ms: positiveInt
      .default(20)
      .meta(about("Never hedge a task before it has run this long (ms), however fast the pool's p95.")),
  })
  .strict();

/** One agent persona, which is also one agent pool; `scaling` is completed by resolvePoolScaling. */
export const agentSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,31}$/, "must be lower-case letters, digits or '-', up to 32")
      .meta(about("Pool name: lower-case letters, digits or '-', up to 32.")),
    model: z
      .string()
      .min(1)
      .default("gpt-3.5-turbo")
      .meta(about("Model name sent to the OpenAI-compatible endpoint.")),
    temperature: z.number().min(0).max(2).meta(about("Sampling temperature, 0..2.")),
    seed: z
      .number()
      .int()
      .min(0)
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .meta(
        about(
          "Sampling seed sent to the model with every generation, for models that honour one (OpenAI's seed): it makes the answers repeatable, so cache_policy auto caches them.",
        ),
      ),
    max_tokens: positiveInt.max(32768).meta(about("Most tokens in one answer.")),
    system_prompt: z.string().min(1).meta(about("The persona's system prompt.")),
    workers: positiveInt
      .max(256)
      .default(4)
      .meta(about("Concurrent generations per replica (Parsl's workers_per_block).")),
    cache_scope: z
      .enum(["principal", "shared"])
      .default("principal")
      .meta(
        about(
          "Whose cached answers a caller may get: principal (only its own, the default) or shared (any caller's; only for answers that reveal nothing of the asker).",
        ),
      ),
    cache_policy: z
      .enum(["auto", "always", "never"])
      .default("auto")
      .meta(
        about(
          "Which answers are cached and shared by identical requests in flight: auto (only deterministic generations: temperature 0 or a seed), always, or never.",
        ),
      ),
    replicas: z
      .number()
      .int()
      .min(0)
      .max(64)
      .optional()
      .meta(about("A fixed pool of this many replicas (strategy none), instead of a scaling block.")),
    hedge: hedgeSchema
      .prefault({})
      .meta(about("Hedged tasks (off by default): a second copy of a straggling task on another replica.")),
    scaling: scalingInputSchema
      .optional()
      .meta(about("How the pool's replicas (Parsl blocks) scale; each key left out takes its default.")),
  })
  .strict()
  // resolvePoolScaling refuses replicas with scaling, naming the key; this says the same in JSON Schema.
  .meta({ not: { required: ["replicas", "scaling"] } });
