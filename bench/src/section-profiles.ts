import { spawnReady } from "./child.js";
import { drive } from "./drive.js";
import { measure, type RunRecord, record } from "./measure.js";
import { fixedPool, startMesh, startSimulatorProcess } from "./mesh.js";
import type { BenchOptions } from "./options.js";
import { parslPython, runParslLevels } from "./parsl.js";
import type { ProfileName } from "./profiles.js";
import type { Target, TargetSpec } from "./targets.js";
import type { WatchedProcess } from "./usage.js";

const ECHO_SERVER = new URL("./echo-server.ts", import.meta.url).pathname;

/** Everything measured in one simulator profile. */
export interface ProfileSection {
  readonly profile: ProfileName;
  readonly chorus: RunRecord[];
  /** Three generations sent straight to the simulator per turn: the floor any orchestrator has. */
  readonly direct: RunRecord[];
  /** The bare gRPC round trip through the shared bridge (zero profile only). */
  readonly echo: RunRecord[];
  readonly parsl: RunRecord[];
  readonly parslStartupS?: number | undefined;
  readonly parslWorkers?: number | undefined;
  readonly parslError?: string | undefined;
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** The concurrency of the unrecorded warm-up before the first level: a third of Parsl's workers. */
function prewarmConcurrency(options: BenchOptions, profile: ProfileName): number {
  return Math.max(1, Math.floor(options.parslWorkers[profile] / 3));
}

/** Serves the profile's warm-up turns, unrecorded, so no level measures code the JIT has not compiled. */
export async function warmUp(
  options: BenchOptions,
  profile: ProfileName,
  target: TargetSpec | Target,
): Promise<void> {
  const { turns, maxMs } = options.prewarm[profile];
  const concurrency = prewarmConcurrency(options, profile);
  const spec = { mode: "closed" as const, concurrency, warmupMs: 0, durationMs: maxMs, maxCalls: turns };
  await drive(spec, target, options.loadProcesses);
}

/** Runs Chorus, the direct baseline, the echo limit (zero) and Parsl at every level of a profile. */
export async function profileSection(
  options: BenchOptions,
  bundle: string,
  profile: ProfileName,
): Promise<ProfileSection> {
  const levels = options.levels[profile];
  const timing = options.timing[profile];
  const sim = await startSimulatorProcess(bundle, profile);
  const section: ProfileSection = { profile, chorus: [], direct: [], echo: [], parsl: [] };
  const simProcess: WatchedProcess = { pid: sim.child.pid, service: "llm-sim" };
  try {
    const workers = Math.max(4, ...levels);
    const mesh = await startMesh({ bundle, llmBaseUrl: sim.url, profile, pool: fixedPool(workers, 1) });
    try {
      await warmUp(options, profile, { kind: "chat", address: mesh.address, tag: `${profile}-warmup` });
      for (const concurrency of levels) {
        const spec = { mode: "closed" as const, concurrency, ...timing, maxCalls: options.maxCalls };
        const target = { kind: "chat" as const, address: mesh.address, tag: `${profile}-c${concurrency}` };
        const processes = () => [...mesh.processes(), simProcess];
        const { run } = await measure("chorus", profile, spec, target, processes, options.loadProcesses);
        section.chorus.push(run);
        log(`${profile} c=${concurrency} chorus ${run.perSecond} turns/s p50 ${run.latency.p50} ms`);
      }
    } finally {
      await mesh.stop();
    }
    await warmUp(options, profile, { kind: "llm", baseUrl: sim.url, tag: `direct-${profile}-warmup` });
    for (const concurrency of levels) {
      const spec = { mode: "closed" as const, concurrency, ...timing, maxCalls: options.maxCalls };
      const target = { kind: "llm" as const, baseUrl: sim.url, tag: `direct-${profile}-c${concurrency}` };
      const { run } = await measure("llm-direct", profile, spec, target, () => [simProcess]);
      section.direct.push(run);
      log(`${profile} c=${concurrency} direct ${run.perSecond} turns/s p50 ${run.latency.p50} ms`);
    }
    if (profile === "zero") section.echo.push(...(await echoRuns(options, levels)));
    if (options.parsl) await parslRuns(options, profile, sim.url, section);
  } finally {
    await sim.stop();
  }
  return section;
}

/** The machine's gRPC limit: a bare echo through the shared bridge, at the same levels. */
async function echoRuns(options: BenchOptions, levels: readonly number[]): Promise<RunRecord[]> {
  const { child, match: address } = await spawnReady(process.execPath, ["--import", "tsx", ECHO_SERVER], {
    ready: /ready at (\S+)/,
    timeoutMs: 30_000,
  });
  const runs: RunRecord[] = [];
  try {
    await warmUp(options, "zero", { kind: "echo", address, tag: "echo-warmup" });
    for (const concurrency of levels) {
      const spec = {
        mode: "closed" as const,
        concurrency,
        ...options.timing.zero,
        maxCalls: options.maxCalls * 5,
      };
      const target = { kind: "echo" as const, address, tag: `echo-c${concurrency}` };
      const processes = () => [{ pid: child.pid, service: "echo-server" }];
      const { run } = await measure("echo", "zero", spec, target, processes, options.loadProcesses);
      runs.push(run);
      log(`echo c=${concurrency} ${run.perSecond} calls/s p50 ${run.latency.p50} ms`);
    }
  } finally {
    await child.stop(5000);
  }
  return runs;
}

async function parslRuns(
  options: BenchOptions,
  profile: ProfileName,
  simUrl: string,
  section: ProfileSection,
) {
  const levels = options.levels[profile];
  const timing = options.timing[profile];
  try {
    const python = parslPython();
    const out = await runParslLevels(python, simUrl, {
      levels: [...levels],
      warmupS: timing.warmupMs / 1000,
      durationS: timing.durationMs / 1000,
      workers: options.parslWorkers[profile],
      maxTurns: options.maxCalls,
      prewarm: { ...options.prewarm[profile], concurrency: prewarmConcurrency(options, profile) },
    });
    for (const level of out.levels) {
      const run = record(
        "parsl",
        profile,
        { concurrency: level.concurrency, mode: "closed" },
        level.result,
        level.usage,
      );
      section.parsl.push(run);
      log(`${profile} c=${level.concurrency} parsl ${run.perSecond} turns/s p50 ${run.latency.p50} ms`);
    }
    Object.assign(section, { parslStartupS: out.startupS, parslWorkers: out.workers });
  } catch (err) {
    Object.assign(section, { parslError: (err as Error).message.slice(0, 2000) });
    log(`parsl failed: ${(err as Error).message.slice(0, 400)}`);
  }
}
