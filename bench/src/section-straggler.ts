import type { SimulatorOptions } from "@chorus/llm-sim";
import { startSimulator } from "@chorus/llm-sim";
import { ChatService } from "@chorus/proto";
import { createClient } from "@chorus/shared";
import { drive } from "./drive.js";
import { measure, type RunRecord } from "./measure.js";
import { type BenchMesh, fixedPool, startMesh, startSimulatorProcess } from "./mesh.js";
import type { BenchOptions } from "./options.js";
import { meanGenerationMs, type SimulatorProfile, simulatorSection } from "./profiles.js";
import { startStragglerProxy } from "./straggler-proxy.js";
import { openTarget, type Target } from "./targets.js";

/**
 * `fast`'s shape (TTFT, then 64 tokens, ±20%) at a quarter of its time, so a window of a few
 * seconds holds enough turns for a p99 while the straggler still takes seconds per answer.
 */
export const STRAGGLER_PROFILE: SimulatorProfile = {
  ttft_ms: 40,
  ttft_std_ms: 8,
  itl_ms: 3,
  itl_std_ms: 0.5,
  tokens: 64,
};

/** The slowed replica's model: every latency knob of STRAGGLER_PROFILE times `factor`. */
export function slowed(profile: SimulatorProfile, factor: number): SimulatorProfile {
  return {
    ttft_ms: profile.ttft_ms * factor,
    ttft_std_ms: profile.ttft_std_ms * factor,
    itl_ms: profile.itl_ms * factor,
    itl_std_ms: profile.itl_std_ms * factor,
    tokens: profile.tokens,
  };
}

/** The three phases: no straggler (hedging off), the straggler with hedging off, then on. */
export type StragglerPhaseId = "healthy" | "straggler" | "straggler-hedged";

/** One phase: its turns, the straggler pool's hedges during it, and what the slow model saw. */
export interface StragglerPhase {
  readonly id: StragglerPhaseId;
  readonly hedging: boolean;
  readonly run: RunRecord;
  /** GetStats of the straggler's pool over the phase: second copies sent, and those that won. */
  readonly hedges: { readonly sent: number; readonly won: number };
  /** The slow simulator over the phase: requests, answers sent whole, and requests its client abandoned (hedge losers cancelled). */
  readonly slowModel: { readonly requests: number; readonly completed: number; readonly aborted: number };
}

/** One replica of one pool slowed `slowFactor`×, p99 with hedging off and on, against healthy. */
export interface StragglerSection {
  readonly profile: SimulatorProfile;
  readonly generationMs: number;
  readonly slowFactor: number;
  readonly concurrency: number;
  readonly replicasPerPool: number;
  readonly workersPerReplica: number;
  /** The pool whose first replica is slowed. */
  readonly pool: string;
  readonly warmupS: number;
  readonly windowS: number;
  readonly phases: StragglerPhase[];
}

const POOL = "analytical";
const REPLICAS = 2;

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** The pid of the pool's first replica (lowest pid), waiting (bounded) until all replicas run. */
async function stragglerPid(mesh: BenchMesh): Promise<number> {
  for (let i = 0; i < 200; i += 1) {
    const pids = mesh
      .processes()
      .filter((p) => p.service === `agent:${POOL}`)
      .map((p) => p.pid)
      .sort((a, b) => a - b);
    if (pids.length >= REPLICAS && pids[0] !== undefined) return pids[0];
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`pool ${POOL} never ran ${REPLICAS} replicas`);
}

async function poolHedges(mesh: BenchMesh): Promise<{ sent: number; won: number }> {
  const client = createClient(ChatService, mesh.address);
  try {
    const stats = await client.getStats({}, { deadline: new Date(Date.now() + 10_000) });
    const pool = stats.agents.find((a) => a.agent === POOL);
    return { sent: Number(pool?.hedgedTasks ?? 0), won: Number(pool?.hedgeWins ?? 0) };
  } finally {
    client.close();
  }
}

/**
 * Two meshes (hedging off; hedging on) of two replicas per pool, on a quarter-`fast` model reached
 * through a proxy that can send one replica's connections to a second simulator `slowFactor`×
 * slower. Measures at one concurrency: healthy (no straggler, hedging off), then the first
 * `analytical` replica of each mesh slowed, with hedging off and on. Every replica has as many
 * workers as turns in flight, so a hedge always finds a free slot on the healthy replica.
 */
export async function stragglerSection(options: BenchOptions, bundle: string): Promise<StragglerSection> {
  const plan = options.straggler;
  if (!plan) throw new Error("the straggler section has no settings in these options");
  const slowProfile = slowed(STRAGGLER_PROFILE, plan.slowFactor);
  const sim = await startSimulatorProcess(bundle, STRAGGLER_PROFILE);
  const slowSim = await startSimulator(simulatorSection(slowProfile) as unknown as SimulatorOptions);
  const proxy = await startStragglerProxy(sim.url, slowSim.url);
  const meshes: BenchMesh[] = [];
  const targets: Target[] = [];
  try {
    const pool = fixedPool(plan.concurrency, REPLICAS);
    const common = { bundle, llmBaseUrl: proxy.url, profile: STRAGGLER_PROFILE, pool };
    const started = await Promise.allSettled([
      startMesh({ ...common, agent: { hedge: { enabled: false } } }),
      startMesh({ ...common, agent: { hedge: { enabled: true, min_delay_ms: 20 } } }),
    ]);
    for (const result of started) if (result.status === "fulfilled") meshes.push(result.value);
    const failed = started.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    const [off, on] = meshes as [BenchMesh, BenchMesh];
    const phases: StragglerPhase[] = [];
    const runPhase = async (id: StragglerPhaseId, mesh: BenchMesh, pid: number | undefined) => {
      proxy.route(pid);
      const target = await openTarget({ kind: "chat", address: mesh.address, tag: `straggler-${id}` });
      targets.push(target);
      const spec = {
        mode: "closed" as const,
        concurrency: plan.concurrency,
        warmupMs: plan.warmupMs,
        durationMs: plan.durationMs,
        maxCalls: options.maxCalls,
      };
      const hedgesBefore = await poolHedges(mesh);
      const modelBefore = slowSim.stats();
      const processes = () => [...mesh.processes(), { pid: sim.child.pid, service: "llm-sim" }];
      const { run } = await measure(`chorus:${id}`, "straggler", spec, target, processes);
      const hedgesAfter = await poolHedges(mesh);
      const model = slowSim.stats();
      const phase: StragglerPhase = {
        id,
        hedging: mesh === on,
        run,
        hedges: { sent: hedgesAfter.sent - hedgesBefore.sent, won: hedgesAfter.won - hedgesBefore.won },
        slowModel: {
          requests: model.requests - modelBefore.requests,
          completed: model.completed - modelBefore.completed,
          aborted: model.aborted - modelBefore.aborted,
        },
      };
      phases.push(phase);
      log(
        `straggler ${id}: ${run.perSecond} turns/s p50 ${run.latency.p50} ms p99 ${run.latency.p99} ms, ` +
          `hedges ${phase.hedges.sent} sent ${phase.hedges.won} won, slow model ${JSON.stringify(phase.slowModel)}`,
      );
    };
    // Both meshes warm up healthy, so the hedging mesh's p95 is the healthy pool's.
    for (const mesh of [off, on]) {
      const warm = { kind: "chat" as const, address: mesh.address, tag: "straggler-warmup" };
      const spec = {
        mode: "closed" as const,
        concurrency: plan.concurrency,
        warmupMs: 0,
        durationMs: plan.prewarmMs,
        maxCalls: plan.prewarmTurns,
      };
      await drive(spec, warm);
    }
    await runPhase("healthy", off, undefined);
    await runPhase("straggler", off, await stragglerPid(off));
    await runPhase("straggler-hedged", on, await stragglerPid(on));
    if (proxy.counts.slow === 0) throw new Error("no connection reached the slow simulator");
    return {
      profile: STRAGGLER_PROFILE,
      generationMs: meanGenerationMs(STRAGGLER_PROFILE),
      slowFactor: plan.slowFactor,
      concurrency: plan.concurrency,
      replicasPerPool: REPLICAS,
      workersPerReplica: plan.concurrency,
      pool: POOL,
      warmupS: plan.warmupMs / 1000,
      windowS: plan.durationMs / 1000,
      phases,
    };
  } finally {
    proxy.route(undefined);
    await Promise.all(targets.map((t) => t.close()));
    await Promise.all(meshes.map((m) => m.stop()));
    await proxy.close();
    await slowSim.close();
    await sim.stop();
  }
}
