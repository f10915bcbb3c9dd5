import { z } from "zod";
import { agentSchema } from "./agent-schema.js";
import { breakerSchema } from "./breaker-schema.js";
import { historyBackendSchema, historyPostgresSchema } from "./history-schema.js";
import { limitsSchema } from "./limits-schema.js";
import { providerSchema } from "./provider-schema.js";
import type { ScalingSettings } from "./scaling.js";
import { about, metricsPort, nonNegative, port, positiveInt } from "./schema-parts.js";
import { securitySchema } from "./security-schema.js";
import { supervisorSchema } from "./supervisor-schema.js";

// Every key carries a description: config/chorus.yaml and the chart's values.schema.json are
// generated from these schemas (`npm run generate`), so the descriptions are the config's documentation.

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, "must be host:port");
const METRICS_PORT = "Port of /metrics (-1 disables it, 0 picks a free one).";

const orchestratorSchema = z
  .object({
    host: z.string().default("127.0.0.1").meta(about("Address the gRPC server listens on.")),
    port: port.default(50051).meta(about("Public gRPC port (0 picks a free one).")),
    metrics_port: metricsPort.default(9464).meta(about(METRICS_PORT)),
    aggregation: z
      .enum(["priority", "fastest", "all", "quorum", "judge"])
      .default("priority")
      .meta(about("How the agents' answers combine: priority | fastest | all | quorum | judge.")),
    quorum_size: positiveInt.default(2).meta(about("quorum: answer once this many agents succeeded...")),
    quorum_wait_ms: positiveInt
      .default(10_000)
      .meta(about("...or with what arrived by this long (ms) after the turn started.")),
    judge_agent: z
      .string()
      .default("balanced")
      .meta(about("judge: the agent that writes the final answer from the others'.")),
    turn_timeout_ms: positiveInt
      .default(60_000)
      .meta(about("Deadline (ms) of a turn when the caller sets none; a shorter caller deadline wins.")),
    turn_lease_ms: positiveInt
      .min(100)
      .max(600_000)
      .default(5000)
      .meta(
        about(
          "A turn sent with a turn_id is claimed in history for this long (ms), renewed while it runs, so a duplicate waits for it on any orchestrator; a claim whose orchestrator died lapses after it.",
        ),
      ),
    task_attempts: positiveInt
      .max(10)
      .default(3)
      .meta(about("Dispatch attempts per agent task (a retry goes to another replica).")),
    queue_limit: positiveInt
      .default(256)
      .meta(
        about(
          "Tasks waiting per pool, served round-robin across clients; when full, the newest task of the client with the most waiting gets RESOURCE_EXHAUSTED.",
        ),
      ),
    max_concurrent_turns: positiveInt
      .default(512)
      .meta(about("Turns in flight (Chat, ChatStream and every Batch item); more wait for a slot.")),
    admission_queue_limit: z
      .number()
      .int()
      .min(0)
      .default(1024)
      .meta(
        about(
          "Turns waiting for a slot until their deadline, served round-robin across clients (principals, or peer addresses on a keyless run); when full, the newest turn of the client with the most waiting gets RESOURCE_EXHAUSTED (0: refuse at once).",
        ),
      ),
    context_turns: z
      .number()
      .int()
      .min(0)
      .max(100)
      .default(6)
      .meta(about("Earlier turns of the conversation sent to the agents as context...")),
    context_tokens: z
      .number()
      .int()
      .min(0)
      .default(2000)
      .meta(about("...bounded by this many (estimated) tokens.")),
    agent_start_timeout_ms: positiveInt
      .default(20_000)
      .meta(about("How long (ms) the orchestrator waits at start-up for each pool's first ready replica.")),
    stats_window_seconds: positiveInt
      .max(3600)
      .default(60)
      .meta(
        about("GetStats' pool utilization is busy over available worker-time in this many recent seconds."),
      ),
    heartbeat_ms: positiveInt
      .default(300)
      .meta(about("How often (ms) a heartbeat goes down each agent replica's task channel.")),
    heartbeat_timeout_ms: positiveInt
      .default(1500)
      .meta(
        about(
          "A replica that answers nothing on its task channel for this long (ms) is lost: its tasks are retried on other replicas and it is replaced. Its tasks wait this long, so it bounds the tail while a replica hangs (bench chaos: a 20 s SIGSTOP's p99 1.7× healthy at 1500, 6.2× at 4000).",
        ),
      ),
  })
  .strict()
  .refine((o) => o.heartbeat_timeout_ms > o.heartbeat_ms, {
    error: "must be longer than heartbeat_ms",
    path: ["heartbeat_timeout_ms"],
  });

const historySchema = z
  .object({
    host: z.string().default("127.0.0.1").meta(about("Address the gRPC server listens on.")),
    port: port.default(50052).meta(about("gRPC port (0 picks a free one).")),
    metrics_port: metricsPort.default(9465).meta(about(METRICS_PORT)),
    address: hostPort
      .optional()
      .meta(about("host:port where the orchestrator reaches history; unset: host and port above.")),
    addresses: z
      .array(hostPort)
      .default([])
      .meta(
        about(
          "host:port of each history replica (backend postgres); the orchestrator spreads its calls across them, and across every address a name resolves to, retrying another on failure. Non-empty overrides address.",
        ),
      ),
    backend: historyBackendSchema,
    path: z.string().min(1).default("./data/chorus.db").meta(about("SQLite file (WAL), for backend sqlite.")),
    postgres: historyPostgresSchema
      .prefault({})
      .meta(about("The PostgreSQL database, for backend postgres.")),
    timeout_ms: positiveInt.default(5000).meta(about("Deadline (ms) of orchestrator → history calls.")),
    group_commit: z
      .object({
        max_batch: positiveInt
          .max(10_000)
          .default(128)
          .meta(
            about(
              "Most appends one transaction commits: appends that arrive while a transaction commits share the next one (group commit); each is answered only after its transaction committed.",
            ),
          ),
        max_wait_ms: z
          .number()
          .int()
          .min(0)
          .max(1000)
          .default(0)
          .meta(
            about(
              "How long (ms) a transaction waits for more appends before it starts; 0 commits at once whatever queued while the previous commit ran.",
            ),
          ),
      })
      .strict()
      .prefault({})
      .meta(about("Group commit: concurrent appends share one transaction.")),
    stream_max_in_flight: positiveInt
      .max(100_000)
      .default(512)
      .meta(
        about(
          "Most appends in flight on one orchestrator → history AppendTurns stream; more wait for a slot within their turn's deadline.",
        ),
      ),
  })
  .strict();

const llmSchema = z
  .object({
    base_url: z
      .string()
      .url()
      .or(z.literal(""))
      .default("")
      .meta(
        about("OpenAI-compatible base URL; empty starts the built-in simulator. OPENAI_BASE_URL overrides."),
      ),
    timeout_ms: positiveInt.default(60_000).meta(about("Deadline (ms) of one model call.")),
    breaker: breakerSchema
      .prefault({})
      .meta(about("Each agent's circuit breaker on the model endpoint: fail fast while the model is down.")),
  })
  .strict();

const simulatorSchema = z
  .object({
    host: z.string().default("127.0.0.1").meta(about("Address the HTTP server listens on.")),
    port: port.default(0).meta(about("HTTP port of the OpenAI-compatible API (0 picks a free one).")),
    ttft_ms: nonNegative.default(150).meta(about("Time to first token, mean (ms).")),
    ttft_std_ms: nonNegative.default(30).meta(about("Time to first token, standard deviation (ms).")),
    itl_ms: nonNegative.default(15).meta(about("Inter-token latency, mean (ms).")),
    itl_std_ms: nonNegative.default(3).meta(about("Inter-token latency, standard deviation (ms).")),
    tokens: positiveInt.max(4096).default(48).meta(about("Completion length when max_tokens allows.")),
    max_concurrent: positiveInt
      .default(64)
      .meta(about("Sequences generated at once; more wait in the queue.")),
    queue_limit: z.number().int().min(0).default(256).meta(about("Waiting requests before HTTP 429.")),
    slowdown: nonNegative.default(0.5).meta(about("Latency grows by this factor at full concurrency.")),
    failure_rate: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .meta(about("Fraction of requests answered with HTTP 500.")),
    seed: z.number().int().default(42).meta(about("Random seed of the simulated latencies and texts.")),
  })
  .strict();

const cacheSchema = z
  .object({
    enabled: z.boolean().default(true).meta(about("Cache answers at all (only successful answers are).")),
    ttl_seconds: positiveInt.default(3600).meta(about("How long (s) a cached answer lives.")),
    max_entries: positiveInt
      .default(10_000)
      .meta(about("In-process LRU size (when Redis is not configured).")),
    outage_log_interval_ms: positiveInt
      .default(30_000)
      .meta(about("How often (ms) a Redis outage is logged again.")),
  })
  .strict();

const redisSchema = z
  .object({
    url: z
      .string()
      .default("")
      .meta(about("e.g. redis://127.0.0.1:6379; empty uses the in-process LRU. REDIS_URL overrides.")),
    key_prefix: z.string().default("chorus:").meta(about("Prefix of every cache key.")),
    command_timeout_ms: positiveInt
      .default(200)
      .meta(about("Deadline (ms) of one Redis command; slower means a cache miss.")),
  })
  .strict();

/** The whole of chorus.yaml; every key has a default so an empty file is valid. */
export const configSchema = z
  .object({
    workflow: z.string().min(1).default("chorus").meta(about("Name of the workflow, shown in status.")),
    orchestrator: orchestratorSchema
      .prefault({})
      .meta(about("The orchestrator: admits turns, dispatches them to the agent pools, scales the pools.")),
    provider: providerSchema.prefault({}).meta(about("Where agent blocks (replicas) come from.")),
    history: historySchema
      .prefault({})
      .meta(about("The history service: conversations in SQLite, or PostgreSQL for several replicas.")),
    llm: llmSchema.prefault({}).meta(about("The OpenAI-compatible model endpoint.")),
    simulator: simulatorSchema
      .prefault({})
      .meta(about("`chorus llm-sim`: an OpenAI-compatible simulated model.")),
    cache: cacheSchema
      .prefault({})
      .meta(about("The orchestrator's response cache: Redis when redis.url is set, else an in-process LRU.")),
    redis: redisSchema.prefault({}).meta(about("The response cache's Redis client.")),
    limits: limitsSchema.prefault({}).meta(about("Request limits and the heap ceiling.")),
    supervisor: supervisorSchema
      .prefault({})
      .meta(about("`chorus up` restarts history, the simulator and the orchestrator when they die.")),
    security: securitySchema
      .prefault({})
      .meta(about("TLS on the public port, mTLS inside the mesh, API keys and OIDC tokens, limits per key.")),
    agents: z
      .array(agentSchema)
      .min(1)
      .optional()
      .meta(
        about(
          "The agent personas; each is one pool of replicas (Parsl blocks). Left out: the seed's three (creative, analytical, balanced).",
        ),
      ),
  })
  .strict()
  .meta(about("Chorus configuration. Every key is optional; these are the defaults."));

/** Validated Chorus configuration. */
export type ChorusConfig = Omit<z.infer<typeof configSchema>, "agents"> & { agents: AgentConfig[] };

/** One validated agent persona, with its pool's resolved scaling settings. */
export type AgentConfig = Omit<z.infer<typeof agentSchema>, "replicas" | "scaling"> & {
  scaling: ScalingSettings;
};
