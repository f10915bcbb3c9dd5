import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultAgents } from "@chorus/config";
import { stringify } from "yaml";
import { type BenchChild, spawnReady } from "./child.js";
import { processTree, serviceOf } from "./proc.js";
import { type ProfileName, type SimulatorProfile, simulatorSection } from "./profiles.js";
import type { WatchedProcess } from "./usage.js";

const BUILT_DIST = new URL("../../tools/cli/dist/", import.meta.url).pathname;
const SNAPSHOT_DIR = new URL("../dist/", import.meta.url).pathname;

/**
 * Copies the built CLI (entry and chunks) so agents forked later in the run execute the code the
 * run started with, even if someone rebuilds meanwhile. It stays under the repository so
 * node_modules resolve.
 */
export function snapshotBundle(): { path: string; remove(): void } {
  if (!existsSync(join(BUILT_DIST, "chorus.mjs")))
    throw new Error(`${BUILT_DIST}chorus.mjs is missing: run npm run build`);
  const dir = join(SNAPSHOT_DIR, `run-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  cpSync(BUILT_DIST, dir, { recursive: true, filter: (source) => !source.endsWith(".map") });
  return { path: join(dir, "chorus.mjs"), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** How each agent pool of a bench mesh runs. */
export interface PoolSpec {
  /** Concurrent generations per replica (`agents[].workers`). */
  readonly workers: number;
  /** The `agents[].scaling` block. */
  readonly scaling: Record<string, unknown>;
}

/** A fixed pool of `replicas` blocks (strategy none) that ScalePool may resize up to `max`. */
export function fixedPool(workers: number, replicas: number, max = replicas): PoolSpec {
  return {
    workers,
    scaling: { strategy: "none", init_blocks: replicas, min_blocks: 0, max_blocks: Math.max(max, replicas) },
  };
}

/** What a bench mesh needs. */
export interface MeshSpec {
  readonly bundle: string;
  /** The bench simulator's base URL (…/v1); the mesh starts no simulator of its own. */
  readonly llmBaseUrl: string;
  readonly profile: ProfileName | SimulatorProfile;
  readonly pool: PoolSpec;
  /** Extra keys of every agent pool (e.g. `hedge`). */
  readonly agent?: Record<string, unknown> | undefined;
  /** Extra `history` keys (e.g. `backend`). */
  readonly history?: Record<string, unknown> | undefined;
  readonly redisUrl?: string | undefined;
  /** Extra `orchestrator` keys. */
  readonly orchestrator?: Record<string, unknown> | undefined;
  /**
   * The `security` block; left out, the defaults: mesh mTLS (a throwaway CA beside the data) and a
   * plaintext public port on loopback without keys.
   */
  readonly security?: Record<string, unknown> | undefined;
  /** Extra environment. */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** Node flags for chorus up, which its services and agents inherit (e.g. --cpu-prof). */
  readonly execArgv?: readonly string[] | undefined;
}

/** A running `chorus up`. */
export interface BenchMesh {
  readonly address: string;
  readonly dir: string;
  readonly child: BenchChild;
  /** chorus up and every process under it, each named by its service. */
  processes(): WatchedProcess[];
  stop(): Promise<void>;
}

/** The config file of a bench mesh. */
export function meshConfig(spec: MeshSpec, dir: string): Record<string, unknown> {
  return {
    workflow: "chorus-bench",
    orchestrator: {
      port: 0,
      metrics_port: 0,
      max_concurrent_turns: 2048,
      queue_limit: 4096,
      ...spec.orchestrator,
    },
    history: { port: 0, metrics_port: 0, path: join(dir, "chorus.db"), ...spec.history },
    llm: { base_url: spec.llmBaseUrl },
    simulator: simulatorSection(spec.profile),
    redis: { url: spec.redisUrl ?? "" },
    ...(spec.security ? { security: spec.security } : {}),
    agents: defaultAgents.map((agent) => ({
      name: agent.name,
      model: agent.model,
      temperature: agent.temperature,
      max_tokens: agent.max_tokens,
      system_prompt: agent.system_prompt,
      workers: spec.pool.workers,
      scaling: spec.pool.scaling,
      // The bench's sections number their messages to avoid hits, and its cache section wants them:
      // cache every answer as Chorus did before the default became `auto` (deterministic only).
      cache_policy: "always",
      ...spec.agent,
    })),
  };
}

/** Starts `chorus up` from the bundle snapshot with a temporary config and data directory. */
export async function startMesh(spec: MeshSpec): Promise<BenchMesh> {
  const dir = mkdtempSync(join(tmpdir(), "chorus-bench-"));
  const configPath = join(dir, "chorus.yaml");
  writeFileSync(configPath, stringify(meshConfig(spec, dir)));
  const env: NodeJS.ProcessEnv = {
    LOG_LEVEL: "warn",
    OPENAI_BASE_URL: spec.llmBaseUrl,
    OPENAI_API_KEY: "chorus-bench",
    REDIS_URL: spec.redisUrl ?? "",
    ...spec.env,
  };
  let started: { child: BenchChild; match: string };
  try {
    started = await spawnReady(
      process.execPath,
      [...(spec.execArgv ?? []), spec.bundle, "up", "--config", configPath],
      {
        env,
        ready: /ready at (\S+)/,
        timeoutMs: 90_000,
      },
    );
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const { child, match } = started;
  return {
    address: match,
    dir,
    child,
    processes: () => processTree(child.pid).map((pid) => ({ pid, service: serviceOf(pid) })),
    async stop() {
      await child.stop(20_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts a standalone `chorus llm-sim` with a profile; Chorus and Parsl both call it. */
export async function startSimulatorProcess(
  bundle: string,
  profile: ProfileName | SimulatorProfile,
): Promise<{ url: string; child: BenchChild; dir: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "chorus-bench-sim-"));
  const configPath = join(dir, "chorus.yaml");
  writeFileSync(configPath, stringify({ simulator: simulatorSection(profile) }));
  const { child, match } = await spawnReady(process.execPath, [bundle, "llm-sim", "--config", configPath], {
    env: { LOG_LEVEL: "warn" },
    ready: /simulator at (\S+)/,
    timeoutMs: 30_000,
  });
  return {
    url: match,
    child,
    dir,
    async stop() {
      await child.stop(5000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
