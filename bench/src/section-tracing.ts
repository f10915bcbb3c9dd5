import { setTimeout as delay } from "node:timers/promises";
import { measureRounds, rotated, type Variant, type VariantPoint } from "./ab-rounds.js";
import { drive } from "./drive.js";
import { type BenchMesh, fixedPool, startMesh, startSimulatorProcess } from "./mesh.js";
import type { BenchOptions } from "./options.js";
import { cmdlineOf, processTree } from "./proc.js";
import { openTarget, type Target } from "./targets.js";

/** Tracing on (every span exported over OTLP/gRPC to a real collector) against off, in one run. */
export interface TracingSection {
  readonly profile: "zero";
  /** Why the section did not run (no collector binary), printed and reported instead of numbers. */
  readonly skipped?: string | undefined;
  readonly rounds: number;
  readonly warmupS: number;
  readonly windowS: number;
  /** `off` and `on` at each level; the collector's own CPU is service `otelcol` of `on`. */
  readonly points: VariantPoint[];
  /** Spans the collector had received once the rounds ended (0: the build does not trace). */
  readonly spans: number;
  /** Turns the traced mesh served, warm-up included, for spans per turn. */
  readonly tracedTurns: number;
}

/** The part of `@chorus/shared/testing`'s collector the section uses. */
interface Collector {
  readonly grpcEndpoint: string;
  readonly pid?: number | undefined;
  spans(): Promise<unknown[]>;
  stop(): Promise<void>;
}

/** Starts the test OpenTelemetry Collector, or says why it cannot (binary not built, helper absent). */
async function startCollector(): Promise<Collector | string> {
  const testing = (await import("@chorus/shared/testing")) as {
    startOtelCollector?: () => Promise<Collector>;
  };
  if (!testing.startOtelCollector) return "@chorus/shared/testing has no startOtelCollector";
  try {
    return await testing.startOtelCollector();
  } catch (err) {
    return (err as Error).message.split("\n")[0] ?? "the collector did not start";
  }
}

/** The collector's processes: its own pid, or this process's descendants running an otelcol binary. */
function collectorProcesses(collector: Collector): { pid: number; service: string }[] {
  const pids =
    collector.pid !== undefined
      ? processTree(collector.pid)
      : processTree(process.pid).filter((pid) => cmdlineOf(pid)[0]?.includes("otelcol"));
  return pids.map((pid) => ({ pid, service: "otelcol" }));
}

/**
 * The spans received once the count stops growing: the SDK's batch processor exports every few
 * seconds, so the last batches arrive after the load; bounded at 8 s.
 */
async function settledSpanCount(collector: Collector): Promise<number> {
  let count = (await collector.spans()).length;
  for (let i = 0; i < 8; i += 1) {
    await delay(1000);
    const now = (await collector.spans()).length;
    if (now === count && now > 0) break;
    count = now;
  }
  return count;
}

/** What the traced mesh's processes get: the standard variables, every span sampled. */
function tracingEnv(endpoint: string): NodeJS.ProcessEnv {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
    OTEL_TRACES_SAMPLER: "always_on",
  };
}

// The untraced mesh must not inherit a tracing setup from the bench's own environment.
const UNTRACED: NodeJS.ProcessEnv = {
  OTEL_EXPORTER_OTLP_ENDPOINT: "",
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "",
  OTEL_TRACES_EXPORTER: "",
};

/**
 * Starts a real OpenTelemetry Collector and two meshes on one `zero` simulator, one with the
 * OTEL_* variables pointing at the collector over gRPC (always_on sampling) and one without, warms
 * both alike, then runs short windows back to back, `rounds` times per level with the order
 * rotated. Without the collector binary the section is skipped with the reason.
 */
export async function tracingSection(options: BenchOptions, bundle: string): Promise<TracingSection> {
  const plan = options.tracing;
  if (!plan) throw new Error("the tracing section has no settings in these options");
  const base = {
    profile: "zero" as const,
    rounds: plan.rounds,
    warmupS: plan.warmupMs / 1000,
    windowS: plan.durationMs / 1000,
  };
  const collector = await startCollector();
  if (typeof collector === "string") {
    process.stderr.write(`bench: tracing section skipped: ${collector}\n`);
    return { ...base, skipped: collector, points: [], spans: 0, tracedTurns: 0 };
  }
  const meshes = new Map<string, BenchMesh>();
  const targets: Target[] = [];
  let sim: Awaited<ReturnType<typeof startSimulatorProcess>> | undefined;
  try {
    sim = await startSimulatorProcess(bundle, "zero");
    const simProcess = { pid: sim.child.pid, service: "llm-sim" };
    const pool = fixedPool(Math.max(4, ...plan.levels), 1);
    const common = { bundle, llmBaseUrl: sim.url, profile: "zero" as const, pool };
    const ids = ["off", "on"] as const;
    const started = await Promise.allSettled([
      startMesh({ ...common, env: UNTRACED }),
      startMesh({ ...common, env: tracingEnv(collector.grpcEndpoint) }),
    ]);
    started.forEach((result, i) => {
      if (result.status === "fulfilled") meshes.set(ids[i] as string, result.value);
    });
    const failed = started.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    const variants: Variant[] = [];
    for (const id of ids) {
      const mesh = meshes.get(id) as BenchMesh;
      const target = await openTarget({ kind: "chat", address: mesh.address, tag: `tracing-${id}` });
      targets.push(target);
      variants.push({
        id,
        target,
        processes: () => [
          ...mesh.processes(),
          simProcess,
          ...(id === "on" ? collectorProcesses(collector) : []),
        ],
      });
    }
    let tracedTurns = 0;
    for (const variant of rotated(variants, 0)) {
      const spec = {
        mode: "closed" as const,
        concurrency: Math.max(...plan.levels),
        warmupMs: 0,
        durationMs: plan.prewarmMs,
        maxCalls: plan.prewarmTurns,
      };
      const result = await drive(spec, variant.target);
      if (variant.id === "on") tracedTurns += result.samples.filter((s) => s.ok).length;
    }
    const points = await measureRounds("tracing", "zero", plan, variants, options.maxCalls);
    for (const point of points)
      if (point.variant === "on") tracedTurns += point.rounds.reduce((sum, r) => sum + r.latency.n, 0);
    const spans = await settledSpanCount(collector);
    if (spans === 0) process.stderr.write("bench: tracing: the collector received no spans\n");
    return { ...base, points, spans, tracedTurns };
  } finally {
    await Promise.all(targets.map((t) => t.close()));
    await Promise.all([...meshes.values()].map((m) => m.stop()));
    await sim?.stop();
    await collector.stop();
  }
}
