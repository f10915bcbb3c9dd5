import { setTimeout as sleep } from "node:timers/promises";
import { ChatService } from "@chorus/proto";
import { createClient, type PromiseClient } from "@chorus/shared";
import { measure, type RunRecord } from "./measure.js";
import { fixedPool, startMesh, startSimulatorProcess } from "./mesh.js";
import type { BenchOptions } from "./options.js";
import { meanGenerationMs } from "./profiles.js";
import { round } from "./usage.js";

/** Throughput at one replica count. */
export interface ScalingPoint {
  readonly replicas: number;
  readonly concurrency: number;
  readonly run: RunRecord;
  /** Turns/s if every worker slot were busy with nothing but the simulated generation. */
  readonly idealPerSecond: number;
  /** Turns/s divided by replicas × turns/s at the first replica count. */
  readonly efficiency: number;
  /** Machine CPU in use (cores) and the Chorus processes' share of it. */
  readonly machineBusyCores: number;
  readonly chorusCores: number;
  /** Seconds the new replicas took to become RUNNING. */
  readonly scaleSeconds: number;
}

/** Throughput against replicas per pool in the fast profile. */
export interface ScalingSection {
  readonly workersPerReplica: number;
  readonly points: ScalingPoint[];
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

async function runningPerPool(client: PromiseClient<typeof ChatService>): Promise<number[]> {
  const status = await client.getStatus({}, { deadline: new Date(Date.now() + 5000) });
  return status.pools.map((pool) => pool.replicas.filter((replica) => replica.state === "RUNNING").length);
}

/** Sets every pool to `replicas` blocks and waits (bounded) until they all run. */
async function scaleTo(client: PromiseClient<typeof ChatService>, replicas: number): Promise<number> {
  const started = performance.now();
  const status = await client.getStatus({}, { deadline: new Date(Date.now() + 5000) });
  for (const pool of status.pools) {
    await client.scalePool({ pool: pool.agent, blocks: replicas }, { deadline: new Date(Date.now() + 5000) });
  }
  const until = Date.now() + 120_000;
  while (Date.now() < until) {
    const running = await runningPerPool(client);
    if (running.every((count) => count === replicas)) return (performance.now() - started) / 1000;
    await sleep(250);
  }
  throw new Error(`pools did not reach ${replicas} running replicas in 120 s`);
}

/** Measures closed-loop throughput with 1, 2, 4, 8 replicas per pool, one slot-full of turns each. */
export async function scalingSection(
  options: BenchOptions,
  bundle: string,
): Promise<ScalingSection | undefined> {
  const scaling = options.scaling;
  if (!scaling) return undefined;
  const sim = await startSimulatorProcess(bundle, "fast");
  const points: ScalingPoint[] = [];
  try {
    const first = scaling.replicas[0] ?? 1;
    const max = Math.max(...scaling.replicas);
    const mesh = await startMesh({
      bundle,
      llmBaseUrl: sim.url,
      profile: "fast",
      pool: fixedPool(scaling.workers, first, max),
    });
    const client = createClient(ChatService, mesh.address);
    try {
      for (const replicas of scaling.replicas) {
        const scaleSeconds = await scaleTo(client, replicas);
        const concurrency = scaling.workers * replicas;
        const spec = { mode: "closed" as const, concurrency, ...scaling, maxCalls: options.maxCalls };
        const target = { kind: "chat" as const, address: mesh.address, tag: `replicas-${replicas}` };
        const processes = () => [...mesh.processes(), { pid: sim.child.pid, service: "llm-sim" }];
        const { run } = await measure("chorus", "fast", spec, target, processes, options.loadProcesses);
        const base = points[0];
        const perReplica = base ? base.run.perSecond / base.replicas : run.perSecond / replicas;
        const chorusCores = (run.usage?.services ?? [])
          .filter((s) => s.service !== "load-generator" && s.service !== "llm-sim")
          .reduce((sum, s) => sum + s.cpuCores, 0);
        points.push({
          replicas,
          concurrency,
          run,
          idealPerSecond: round((concurrency * 1000) / meanGenerationMs("fast"), 1),
          efficiency: round(run.perSecond / (perReplica * replicas), 3),
          machineBusyCores: run.usage?.machineBusyCores ?? Number.NaN,
          chorusCores: round(chorusCores, 2),
          scaleSeconds: round(scaleSeconds, 1),
        });
        log(`replicas=${replicas} c=${concurrency} ${run.perSecond} turns/s p50 ${run.latency.p50} ms`);
      }
    } finally {
      client.close();
      await mesh.stop();
    }
  } finally {
    await sim.stop();
  }
  return { workersPerReplica: scaling.workers, points };
}
