import type { RoundsPlan } from "./ab-rounds.js";
import type { ProfileName } from "./profiles.js";

/** How long one load run warms up and measures (ms). */
export interface Timing {
  readonly warmupMs: number;
  readonly durationMs: number;
}

/** Everything a bench run does, with its bounds. */
export interface BenchOptions {
  readonly smoke: boolean;
  readonly profiles: readonly ProfileName[];
  readonly levels: Record<ProfileName, readonly number[]>;
  readonly timing: Record<ProfileName, Timing>;
  /** Before its first level each system serves up to `turns` unrecorded turns, within `maxMs`. */
  readonly prewarm: Record<ProfileName, { readonly turns: number; readonly maxMs: number }>;
  /** Run the Parsl baseline (needs the Parsl virtualenv, built from PyPI on first use). */
  readonly parsl: boolean;
  /** HTEX workers for the level runs: enough for every task of the highest level to run at once. */
  readonly parslWorkers: Record<ProfileName, number>;
  /** Measure cache hits through a real redis-server. */
  readonly redis: boolean;
  /** `straggler`: one replica of one pool slowed `slowFactor`×, p99 with hedging off and on, and healthy. */
  readonly straggler?: {
    readonly concurrency: number;
    readonly slowFactor: number;
    /** Unrecorded turns each mesh serves healthy first, within `prewarmMs`. */
    readonly prewarmTurns: number;
    readonly prewarmMs: number;
  } & Timing;
  /** `history-backends`: `zero` on SQLite against PostgreSQL history, rounds back to back. */
  readonly historyBackends?: RoundsPlan;
  /** `tracing`: `zero` with every span exported to an OpenTelemetry Collector against without. */
  readonly tracing?: RoundsPlan;
  /** `stream`: CPU per token relayed by ChatStream beside the same answers streamed directly. */
  readonly stream?: { readonly profiles: readonly ProfileName[]; readonly concurrency: number } & Timing;
  readonly scaling?: { replicas: readonly number[]; workers: number } & Timing;
  readonly autoscale?: {
    readonly concurrency: number;
    readonly idleMs: number;
    readonly durationMs: number;
    readonly workers: number;
    readonly maxBlocks: number;
    readonly strategies: readonly ("chorus" | "simple")[];
    readonly parsl: boolean;
  };
  /**
   * `zero`, the same levels for three meshes (plaintext; mesh mTLS; mesh mTLS + public TLS + API
   * key): per level `rounds` rounds of one window per mesh back to back, the order rotated.
   */
  readonly security?: {
    readonly levels: readonly number[];
    readonly rounds: number;
    /** Rounds of the one-call echo over each transport, after the meshes. */
    readonly hopRounds: number;
  } & Timing;
  /** warmupMs: the same arrival rate, unrecorded, before the measured soak (V8 reaches its steady heap). */
  readonly soak?: { durationMs: number; warmupMs: number; rate: number; sampleMs: number; idleMs: number };
  /**
   * The chaos soak (issue 11): a supervised mesh at a fixed rate for durationMs, the SIGSTOP stall
   * first, then a random fault every faultEveryMs.
   */
  readonly chaos?: ChaosSettings;
  /** Load-generating processes for the Chorus and echo runs. */
  readonly loadProcesses: number;
  /** Upper bound of calls in one load run. */
  readonly maxCalls: number;
  /** Sections to run (all when undefined): profile names, cache, scaling, security, soak, autoscale, chaos. */
  readonly sections?: readonly string[] | undefined;
}

/** A mesh change the chaos section's SIGSTOP stall is measured with (the first also runs the soak). */
export interface StallVariant {
  readonly name: string;
  readonly change: string;
  readonly orchestrator?: Record<string, unknown>;
  readonly hedge?: Record<string, unknown>;
}

/** The chaos section's bounds: every wait ends, the load is `rate × durationMs` turns. */
export interface ChaosSettings {
  readonly profile: ProfileName;
  readonly rate: number;
  readonly durationMs: number;
  readonly faultEveryMs: number;
  /** A failed turn counts as inside a window when sent up to this long after the service was back. */
  readonly graceMs: number;
  readonly callTimeoutMs: number;
  /** Clients retry a failed turn with the same turn id until this long after first sending it. */
  readonly retryForMs: number;
  readonly recoverTimeoutMs: number;
  readonly agentStopMs: number;
  readonly redisDownMs: number;
  readonly workers: number;
  readonly replicas: number;
  readonly seed: number;
  /** One agent SIGSTOPped for stopMs after healthyMs at the same rate, per variant. */
  readonly stall: {
    readonly warmupMs: number;
    readonly healthyMs: number;
    readonly stopMs: number;
    readonly tailMs: number;
    readonly variants: readonly StallVariant[];
  };
}

/** The SIGSTOP stall's variants: the config defaults, hedging on, and the heartbeat defaults before issue 11's. */
export const STALL_VARIANTS: readonly StallVariant[] = [
  { name: "default", change: "none (heartbeat_ms 300, heartbeat_timeout_ms 1500, hedging off)" },
  { name: "hedged", change: "agents[].hedge.enabled: true", hedge: { enabled: true } },
  {
    name: "heartbeat-4000",
    change: "orchestrator.heartbeat_ms 1000, heartbeat_timeout_ms 4000 (the earlier defaults)",
    orchestrator: { heartbeat_ms: 1000, heartbeat_timeout_ms: 4000 },
  },
];

const CHAOS: ChaosSettings = {
  profile: "fast",
  rate: 20,
  durationMs: 600_000,
  faultEveryMs: 30_000,
  graceMs: 2000,
  callTimeoutMs: 15_000,
  retryForMs: 20_000,
  recoverTimeoutMs: 30_000,
  agentStopMs: 10_000,
  redisDownMs: 5000,
  workers: 16,
  replicas: 2,
  seed: 11,
  stall: {
    warmupMs: 3000,
    healthyMs: 10_000,
    stopMs: 20_000,
    tailMs: 1000,
    variants: STALL_VARIANTS.slice(0, 1),
  },
};

/** Whether `options` runs the section `name`. */
export function runs(options: BenchOptions, name: string): boolean {
  return options.sections === undefined || options.sections.includes(name);
}

/**
 * The full suite: about 38 minutes on 2 cores — 24 for the sections before issues 11–13, about 11
 * for chaos (its 10-minute soak and the stall), about 3 for stream (30 s), straggler,
 * history-backends and tracing (about 50 s each).
 */
export const FULL: BenchOptions = {
  smoke: false,
  profiles: ["zero", "fast", "slow"],
  levels: { zero: [1, 4, 16, 64], fast: [1, 4, 16], slow: [1, 16] },
  timing: {
    zero: { warmupMs: 1000, durationMs: 4000 },
    fast: { warmupMs: 2000, durationMs: 7000 },
    slow: { warmupMs: 0, durationMs: 17_000 },
  },
  // Enough turns for V8 to optimise the hot paths of every Chorus process (c=1 latency drops by a
  // third between a few hundred and a few thousand turns); Parsl gets the same count.
  prewarm: {
    zero: { turns: 3000, maxMs: 20_000 },
    fast: { turns: 3000, maxMs: 4000 },
    slow: { turns: 3000, maxMs: 2000 },
  },
  parsl: true,
  parslWorkers: { zero: 16, fast: 48, slow: 48 },
  redis: true,
  // About 50 s: two meshes of two replicas per pool, a healthy warm-up each, three 9 s windows.
  straggler: {
    concurrency: 16,
    slowFactor: 10,
    warmupMs: 1000,
    durationMs: 8000,
    prewarmTurns: 300,
    prewarmMs: 5000,
  },
  // About 45 s each: two meshes, a warm-up each, then rounds of 1.2 s windows in rotated order.
  historyBackends: {
    levels: [1, 16],
    rounds: 6,
    warmupMs: 200,
    durationMs: 1000,
    prewarmTurns: 2000,
    prewarmMs: 6000,
  },
  tracing: { levels: [16], rounds: 10, warmupMs: 200, durationMs: 1000, prewarmTurns: 2000, prewarmMs: 6000 },
  // About 30 s: per profile a mesh and then direct, 1 s warm-up and 4 s measured each.
  stream: { profiles: ["zero", "fast"], concurrency: 16, warmupMs: 1000, durationMs: 4000 },
  scaling: { replicas: [1, 2, 4, 8], workers: 32, warmupMs: 2000, durationMs: 6000 },
  autoscale: {
    concurrency: 16,
    idleMs: 3000,
    durationMs: 20_000,
    workers: 4,
    maxBlocks: 8,
    strategies: ["chorus", "simple"],
    parsl: true,
  },
  // Short windows, many rounds: a burst of other work on this shared machine lands in a window or
  // two of one setup instead of a whole run; 24 rounds put each setup first, second and third 8 times.
  security: { levels: [1, 16], rounds: 24, hopRounds: 8, warmupMs: 200, durationMs: 800 },
  soak: { durationMs: 300_000, warmupMs: 120_000, rate: 100, sampleMs: 5000, idleMs: 10_000 },
  chaos: CHAOS,
  loadProcesses: 1,
  maxCalls: 200_000,
};

/** A seconds-long smoke of every code path, with no Parsl and no thresholds. */
export const SMOKE: BenchOptions = {
  smoke: true,
  profiles: ["zero"],
  levels: { zero: [1, 4], fast: [4], slow: [1] },
  timing: {
    zero: { warmupMs: 200, durationMs: 800 },
    fast: { warmupMs: 300, durationMs: 1500 },
    slow: { warmupMs: 0, durationMs: 2000 },
  },
  prewarm: {
    zero: { turns: 100, maxMs: 500 },
    fast: { turns: 100, maxMs: 500 },
    slow: { turns: 100, maxMs: 500 },
  },
  parsl: false,
  parslWorkers: { zero: 4, fast: 12, slow: 12 },
  redis: true,
  straggler: {
    concurrency: 4,
    slowFactor: 10,
    warmupMs: 200,
    durationMs: 1000,
    prewarmTurns: 40,
    prewarmMs: 1000,
  },
  historyBackends: {
    levels: [1, 4],
    rounds: 1,
    warmupMs: 100,
    durationMs: 400,
    prewarmTurns: 50,
    prewarmMs: 500,
  },
  tracing: { levels: [4], rounds: 1, warmupMs: 100, durationMs: 400, prewarmTurns: 50, prewarmMs: 500 },
  stream: { profiles: ["zero"], concurrency: 4, warmupMs: 300, durationMs: 700 },
  scaling: { replicas: [1, 2], workers: 4, warmupMs: 300, durationMs: 1000 },
  autoscale: {
    concurrency: 8,
    idleMs: 500,
    durationMs: 3000,
    workers: 4,
    maxBlocks: 2,
    strategies: ["chorus"],
    parsl: false,
  },
  security: { levels: [1, 16], rounds: 1, hopRounds: 1, warmupMs: 200, durationMs: 800 },
  soak: { durationMs: 2000, warmupMs: 500, rate: 50, sampleMs: 500, idleMs: 500 },
  chaos: {
    ...CHAOS,
    profile: "zero",
    rate: 10,
    durationMs: 16_000,
    faultEveryMs: 4000,
    agentStopMs: 2000,
    redisDownMs: 500,
    stall: { ...CHAOS.stall, warmupMs: 500, healthyMs: 1000, stopMs: 2000, tailMs: 500 },
  },
  loadProcesses: 1,
  maxCalls: 20_000,
};
