import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { defaultAgents } from "@chorus/config";
import type { LoadResult, Sample } from "./load.js";
import { allPids, cmdlineOf, processTree } from "./proc.js";
import { type UsageReport, watchUsage } from "./usage.js";

const SCRIPT = new URL("../parsl/parsl_chat.py", import.meta.url).pathname;
const ENSURE_VENV = new URL("../../tools/parsl-oracle/ensure-venv.sh", import.meta.url).pathname;

/** The python of the cached virtualenv with the pinned Parsl (built on first use). */
export function parslPython(): string {
  return execFileSync("bash", [ENSURE_VENV], { encoding: "utf8", timeout: 600_000 }).trim();
}

/** One concurrency level of a Parsl run, shaped like a Chorus load result. */
export interface ParslLevel {
  readonly concurrency: number;
  readonly result: LoadResult;
  readonly usage: UsageReport | undefined;
}

/** What a Parsl load step produced. */
export interface ParslStep {
  readonly result: LoadResult;
  /** [ms since the step, blocks launched, blocks connected, outstanding tasks]. */
  readonly timeline: Array<[number, number, number, number]>;
}

type Event = Record<string, unknown> & { event: string };

function parslService(pid: number): string {
  const args = cmdlineOf(pid).join(" ");
  if (args.includes("interchange")) return "parsl:interchange";
  if (args.includes("process_worker_pool")) return "parsl:worker-pool";
  if (args.includes("parsl_chat.py")) return "parsl:driver";
  // LocalProvider starts each block through a shell script.
  if (/^(\/bin\/|\/usr\/bin\/)?(ba)?sh /.test(args)) return "parsl:launcher";
  return "parsl:worker";
}

/** The driver's tree plus every process started for this run (they name its run directory). */
function parslProcesses(driverPid: number, runDir: string) {
  const roots = allPids().filter((pid) => pid !== driverPid && cmdlineOf(pid).join(" ").includes(runDir));
  const pids = new Set([...processTree(driverPid), ...roots.flatMap((pid) => processTree(pid))]);
  return [...pids].map((pid) => ({ pid, service: parslService(pid) }));
}

function toResult(event: Event): LoadResult {
  const raw = (event.samples as Array<[number, number, boolean, number]>) ?? [];
  const samples: Sample[] = raw.map(([startMs, latencyMs, ok, slowestAgentMs]) => ({
    startMs,
    latencyMs,
    ok,
    slowestAgentMs: slowestAgentMs ?? Number.NaN,
  }));
  return {
    samples,
    completedInWindow: Number(event.completed_in_window ?? 0),
    windowMs: Number(event.window_ms ?? 0),
    failed: Number(event.failed ?? 0),
    dropped: 0,
    abandoned: 0,
    errors: {},
  };
}

async function runScript(
  python: string,
  job: Record<string, unknown>,
  onEvent: (event: Event, processes: () => Array<{ pid: number; service: string }>) => void,
  timeoutMs: number,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "chorus-bench-parsl-"));
  const jobPath = join(dir, "job.json");
  const runDir = join(dir, "runinfo");
  writeFileSync(jobPath, JSON.stringify({ ...job, run_dir: runDir }));
  const child = spawn(python, [SCRIPT, jobPath], {
    // HTEX starts `process_worker_pool.py` by name: the virtualenv's bin must be on PATH.
    env: { ...process.env, PATH: `${dirname(python)}:${process.env.PATH ?? ""}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    const lines = createInterface({ input: child.stdout });
    for await (const line of lines) {
      if (!line.startsWith("{")) continue;
      onEvent(JSON.parse(line) as Event, () => parslProcesses(child.pid ?? -1, runDir));
    }
    const code = await new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) resolve(child.exitCode);
      else child.once("exit", (exitCode) => resolve(exitCode));
    });
    if (code !== 0) throw new Error(`parsl_chat.py exited with ${code}:\n${stderr}`);
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

function agentsJson() {
  return defaultAgents.map(({ name, model, temperature, max_tokens, system_prompt }) => ({
    name,
    model,
    temperature,
    max_tokens,
    system_prompt,
  }));
}

/** Runs the Parsl workflow closed-loop at each concurrency level against the simulator. */
export async function runParslLevels(
  python: string,
  simUrl: string,
  options: {
    levels: number[];
    warmupS: number;
    durationS: number;
    workers: number;
    maxTurns: number;
    prewarm: { turns: number; maxMs: number; concurrency: number };
  },
): Promise<{ levels: ParslLevel[]; startupS: number; workers: number }> {
  const levels: ParslLevel[] = [];
  let watch: { stop(): UsageReport } | undefined;
  let usage: UsageReport | undefined;
  let startupS = Number.NaN;
  let workers = 0;
  const budget =
    (options.warmupS + options.durationS + 60) * options.levels.length * 1000 +
    options.prewarm.maxMs +
    180_000;
  await runScript(
    python,
    {
      mode: "levels",
      sim_url: simUrl,
      agents: agentsJson(),
      levels: {
        levels: options.levels,
        warmup_s: options.warmupS,
        duration_s: options.durationS,
        workers: options.workers,
        max_turns: options.maxTurns,
        prewarm_turns: options.prewarm.turns,
        prewarm_s: options.prewarm.maxMs / 1000,
        prewarm_concurrency: options.prewarm.concurrency,
      },
    },
    (event, processes) => {
      if (event.event === "ready") {
        startupS = Number(event.startup_s);
        workers = Number(event.workers);
      } else if (event.event === "level_start") {
        watch = watchUsage(processes);
      } else if (event.event === "level_end") {
        usage = watch?.stop();
        watch = undefined;
      } else if (event.event === "result") {
        levels.push({ concurrency: Number(event.concurrency), result: toResult(event), usage });
      }
    },
    budget,
  );
  return { levels, startupS, workers };
}

/** Runs Parsl's `simple` strategy through a load step from idle to `concurrency` turns. */
export async function runParslStep(
  python: string,
  simUrl: string,
  options: {
    concurrency: number;
    idleS: number;
    durationS: number;
    workersPerBlock: number;
    maxBlocks: number;
    strategyPeriodS: number;
    maxTurns: number;
  },
): Promise<ParslStep> {
  let step: ParslStep | undefined;
  await runScript(
    python,
    {
      mode: "step",
      sim_url: simUrl,
      agents: agentsJson(),
      step: {
        concurrency: options.concurrency,
        idle_s: options.idleS,
        duration_s: options.durationS,
        workers_per_block: options.workersPerBlock,
        max_blocks: options.maxBlocks,
        strategy_period: options.strategyPeriodS,
        max_turns: options.maxTurns,
      },
    },
    (event) => {
      if (event.event === "result") {
        step = {
          result: toResult(event),
          timeline: event.timeline as Array<[number, number, number, number]>,
        };
      }
    },
    (options.idleS + options.durationS) * 1000 + 240_000,
  );
  if (!step) throw new Error("parsl_chat.py gave no step result");
  return step;
}
