import { z } from "zod";
import { POOL_SCALING_DEFAULTS, type ScalingSettings, scalingKeys } from "./scaling.js";

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();
const nonNegative = z.number().min(0);
const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, "must be host:port");

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
  .extend({ workers_per_block: z.never({ error: "set the agent's workers instead" }).optional() })
  .strict()
  // Checked with the defaults filled in, and even when other keys are wrong, so every error is listed.
  .refine(
    (s) => {
      const min = s.min_blocks ?? POOL_SCALING_DEFAULTS.min_blocks;
      const max = s.max_blocks ?? POOL_SCALING_DEFAULTS.max_blocks;
      return !(Number.isInteger(min) && Number.isInteger(max)) || min <= max;
    },
    { error: "must not exceed max_blocks", path: ["min_blocks"], when: (payload) => typeof payload.value === "object" && payload.value !== null },
  );

/** One agent persona, which is also one agent pool; `scaling` is completed by resolvePoolScaling. */
export const agentSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, "must be lower-case letters, digits or '-', up to 32"),
    model: z.string().min(1).default("gpt-3.5-turbo"),
    temperature: z.number().min(0).max(2),
    max_tokens: positiveInt.max(32768),
    system_prompt: z.string().min(1),
    workers: positiveInt.max(256).default(4),
    replicas: z.number().int().min(0).max(64).optional(),
    scaling: scalingInputSchema.optional(),
  })
  .strict();

/** The whole of chorus.yaml; every key has a default so an empty file is valid. */
export const configSchema = z
  .object({
    workflow: z.string().min(1).default("chorus"),
    orchestrator: z
      .object({
        host: z.string().default("127.0.0.1"),
        port: port.default(50051),
        metrics_port: z.number().int().min(-1).max(65535).default(9464),
        aggregation: z.enum(["priority", "fastest", "all", "quorum", "judge"]).default("priority"),
        quorum_size: positiveInt.default(2),
        quorum_wait_ms: positiveInt.default(10_000),
        judge_agent: z.string().default("balanced"),
        turn_timeout_ms: positiveInt.default(60_000),
        task_attempts: positiveInt.max(10).default(3),
        queue_limit: positiveInt.default(256),
        max_concurrent_turns: positiveInt.default(512),
        context_turns: z.number().int().min(0).max(100).default(6),
        context_tokens: z.number().int().min(0).default(2000),
        agent_start_timeout_ms: positiveInt.default(20_000),
      })
      .strict()
      .prefault({}),
    provider: z
      .object({
        /** Where agent blocks come from: child processes here, or pods of Deployments. */
        kind: z.enum(["local", "kubernetes"]).default("local"),
        kubernetes: z
          .object({
            namespace: z.string().default(""),
            kubeconfig: z.string().default(""),
            deployment_template: z.string().includes("{pool}").default("chorus-agent-{pool}"),
            service_template: z.string().includes("{pool}").default("chorus-agent-{pool}"),
            agent_port_name: z.string().default("grpc"),
            lease_name: z.string().min(1).default("chorus-orchestrator"),
            lease_duration_seconds: positiveInt.default(15),
            renew_deadline_seconds: positiveInt.default(10),
            retry_period_seconds: positiveInt.default(2),
            /** How often each orchestrator publishes the load it routes, for the leader to scale on. */
            load_report_ms: z.number().int().min(100).max(60_000).default(1000),
          })
          .strict()
          // As in client-go: a leader must give up before its lease lapses, and retry before that.
          .superRefine((lease, ctx) => {
            if (lease.renew_deadline_seconds >= lease.lease_duration_seconds)
              ctx.addIssue({
                code: "custom",
                path: ["renew_deadline_seconds"],
                message: "must be less than lease_duration_seconds",
              });
            if (lease.retry_period_seconds >= lease.renew_deadline_seconds)
              ctx.addIssue({
                code: "custom",
                path: ["retry_period_seconds"],
                message: "must be less than renew_deadline_seconds",
              });
          })
          .prefault({}),
      })
      .strict()
      .prefault({}),
    history: z
      .object({
        host: z.string().default("127.0.0.1"),
        port: port.default(50052),
        metrics_port: z.number().int().min(-1).max(65535).default(9465),
        address: hostPort.optional(),
        path: z.string().min(1).default("./data/chorus.db"),
        timeout_ms: positiveInt.default(5000),
      })
      .strict()
      .prefault({}),
    llm: z
      .object({
        base_url: z.string().url().or(z.literal("")).default(""),
        timeout_ms: positiveInt.default(60_000),
      })
      .strict()
      .prefault({}),
    simulator: z
      .object({
        host: z.string().default("127.0.0.1"),
        port: port.default(0),
        ttft_ms: nonNegative.default(150),
        ttft_std_ms: nonNegative.default(30),
        itl_ms: nonNegative.default(15),
        itl_std_ms: nonNegative.default(3),
        tokens: positiveInt.max(4096).default(48),
        max_concurrent: positiveInt.default(64),
        queue_limit: z.number().int().min(0).default(256),
        slowdown: nonNegative.default(0.5),
        failure_rate: z.number().min(0).max(1).default(0),
        seed: z.number().int().default(42),
      })
      .strict()
      .prefault({}),
    cache: z
      .object({
        enabled: z.boolean().default(true),
        ttl_seconds: positiveInt.default(3600),
        max_entries: positiveInt.default(10_000),
        outage_log_interval_ms: positiveInt.default(30_000),
      })
      .strict()
      .prefault({}),
    redis: z
      .object({
        url: z.string().default(""),
        key_prefix: z.string().default("chorus:"),
        command_timeout_ms: positiveInt.default(200),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        max_message_bytes: positiveInt.default(32 * 1024),
        max_batch: positiveInt.default(1000),
        batch_concurrency: positiveInt.default(32),
        heap_mb: z
          .number()
          .int()
          .refine((mb) => mb === 0 || (mb >= 64 && mb <= 65_536), "must be 0 (V8's default) or 64 to 65536")
          .default(384),
      })
      .strict()
      .prefault({}),
    agents: z.array(agentSchema).min(1).optional(),
  })
  .strict();

/** Validated Chorus configuration. */
export type ChorusConfig = Omit<z.infer<typeof configSchema>, "agents"> & { agents: AgentConfig[] };

/** One validated agent persona, with its pool's resolved scaling settings. */
export type AgentConfig = Omit<z.infer<typeof agentSchema>, "replicas" | "scaling"> & {
  scaling: ScalingSettings;
};
