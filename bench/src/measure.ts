import { activeWorkers, drive } from "./drive.js";
import { type LoadResult, type LoadSpec, throughput } from "./load.js";
import { cdf, type LatencySummary, summarize } from "./stats.js";
import type { Target, TargetSpec } from "./targets.js";
import { round, type UsageReport, type WatchedProcess, watchUsage } from "./usage.js";

/** One measured run of one system at one concurrency. */
export interface RunRecord {
  /** chorus, parsl, echo (gRPC limit), llm-direct (three generations, no orchestrator), redis-get, chorus-cache-hit. */
  readonly system: string;
  readonly profile: string;
  readonly concurrency: number;
  readonly mode: "closed" | "open";
  /** Successful calls (turns) per second. */
  readonly perSecond: number;
  readonly latency: LatencySummary;
  /** Per turn: latency minus the slowest agent task (orchestrator-measured, or the task's own). */
  readonly addedOverSlowestAgent?: LatencySummary | undefined;
  /** Per turn: the slowest agent task. */
  readonly slowestAgent?: LatencySummary | undefined;
  readonly failed: number;
  readonly dropped: number;
  readonly errors: Record<string, number>;
  readonly usage?: UsageReport | undefined;
  /** [latency ms, fraction] pairs. */
  readonly cdf: Array<[number, number]>;
}

/** Turns a load result into a run record. */
export function record(
  system: string,
  profile: string,
  spec: Pick<LoadSpec, "concurrency" | "mode">,
  result: LoadResult,
  usage?: UsageReport,
): RunRecord {
  const ok = result.samples.filter((s) => s.ok);
  const withAgent = ok.filter((s) => Number.isFinite(s.slowestAgentMs) && s.slowestAgentMs > 0);
  return {
    system,
    profile,
    concurrency: spec.concurrency,
    mode: spec.mode,
    perSecond: round(throughput(result), 2),
    latency: summarize(ok.map((s) => s.latencyMs)),
    addedOverSlowestAgent:
      withAgent.length > 0 ? summarize(withAgent.map((s) => s.latencyMs - s.slowestAgentMs)) : undefined,
    slowestAgent: withAgent.length > 0 ? summarize(withAgent.map((s) => s.slowestAgentMs)) : undefined,
    failed: result.failed + result.abandoned,
    dropped: result.dropped,
    errors: result.errors,
    usage,
    cdf: cdf(
      ok.map((s) => s.latencyMs),
      100,
    ),
  };
}

/** `run` without its CDF: for the rounds of a pooled record, which carries the CDF of them all. */
export function withoutCdf(run: RunRecord): RunRecord {
  return { ...run, cdf: [] };
}

/** The bench process and its load workers, for CPU accounting. */
export function loadGenerators(): WatchedProcess[] {
  return [
    { pid: process.pid, service: "load-generator" },
    ...[...activeWorkers].map((pid) => ({ pid, service: "load-generator" })),
  ];
}

/** Drives `target` while watching the CPU and memory of `processes` (plus the load generator). */
export async function measure(
  system: string,
  profile: string,
  spec: LoadSpec,
  target: TargetSpec | Target,
  processes: () => WatchedProcess[],
  loadProcesses = 1,
): Promise<{ run: RunRecord; result: LoadResult }> {
  const list = () => [...processes(), ...loadGenerators()];
  let watch: { stop(): UsageReport } | undefined;
  let usage: UsageReport | undefined;
  const result = await drive(spec, target, loadProcesses, {
    onStart: () => {
      watch = watchUsage(list);
    },
    onEnd: () => {
      usage = watch?.stop();
    },
  });
  usage ??= watch?.stop();
  return { run: record(system, profile, spec, result, usage), result };
}
