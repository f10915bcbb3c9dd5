import { startPostgresServer } from "@chorus/history/testing";
import { measureRounds, rotated, type Variant, type VariantPoint } from "./ab-rounds.js";
import { drive } from "./drive.js";
import { type BenchMesh, fixedPool, startMesh, startSimulatorProcess } from "./mesh.js";
import type { BenchOptions } from "./options.js";
import { processTree } from "./proc.js";
import { openTarget, type Target } from "./targets.js";

/** The same `zero` load on history's two backends, in one run. */
export interface HistoryBackendsSection {
  readonly profile: "zero";
  readonly rounds: number;
  readonly warmupS: number;
  readonly windowS: number;
  /** sqlite and postgres at each level; postgres's server processes count as service `postgres`. */
  readonly points: VariantPoint[];
}

const BACKENDS = ["sqlite", "postgres"] as const;

/**
 * Starts a real PostgreSQL server (Debian's, on a loopback port, data in a temp dir, the test
 * helper's settings: fsync off) and two meshes on one `zero` simulator, history on SQLite in one and
 * on that PostgreSQL in the other (one history replica each, as `chorus up` runs it), warms both up
 * alike, then runs short windows of the two back to back, `rounds` times per level, order rotated.
 */
export async function historyBackendsSection(
  options: BenchOptions,
  bundle: string,
): Promise<HistoryBackendsSection> {
  const plan = options.historyBackends;
  if (!plan) throw new Error("the history-backends section has no settings in these options");
  const postgres = await startPostgresServer();
  const meshes = new Map<string, BenchMesh>();
  const targets: Target[] = [];
  let sim: Awaited<ReturnType<typeof startSimulatorProcess>> | undefined;
  try {
    const url = await postgres.createDatabase();
    sim = await startSimulatorProcess(bundle, "zero");
    const simProcess = { pid: sim.child.pid, service: "llm-sim" };
    const pool = fixedPool(Math.max(4, ...plan.levels), 1);
    const common = { bundle, llmBaseUrl: sim.url, profile: "zero" as const, pool };
    const started = await Promise.allSettled([
      startMesh({ ...common, history: { backend: "sqlite" } }),
      startMesh({
        ...common,
        history: { backend: "postgres" },
        env: { CHORUS_HISTORY_DATABASE_URL: url },
      }),
    ]);
    started.forEach((result, i) => {
      if (result.status === "fulfilled") meshes.set(BACKENDS[i] as string, result.value);
    });
    const failed = started.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    const postgresProcesses = () =>
      postgres.pid === undefined
        ? []
        : processTree(postgres.pid).map((pid) => ({ pid, service: "postgres" }));
    const variants: Variant[] = [];
    for (const backend of BACKENDS) {
      const mesh = meshes.get(backend) as BenchMesh;
      const target = await openTarget({ kind: "chat", address: mesh.address, tag: `history-${backend}` });
      targets.push(target);
      variants.push({
        id: backend,
        target,
        processes: () => [
          ...mesh.processes(),
          simProcess,
          ...(backend === "postgres" ? postgresProcesses() : []),
        ],
      });
    }
    // The same unrecorded warm-up for both, in turn.
    for (const variant of rotated(variants, 0)) {
      const spec = {
        mode: "closed" as const,
        concurrency: Math.max(...plan.levels),
        warmupMs: 0,
        durationMs: plan.prewarmMs,
        maxCalls: plan.prewarmTurns,
      };
      await drive(spec, variant.target);
    }
    const points = await measureRounds("history-backends", "zero", plan, variants, options.maxCalls);
    return {
      profile: "zero",
      rounds: plan.rounds,
      warmupS: plan.warmupMs / 1000,
      windowS: plan.durationMs / 1000,
      points,
    };
  } finally {
    await Promise.all(targets.map((t) => t.close()));
    await Promise.all([...meshes.values()].map((m) => m.stop()));
    await sim?.stop();
    await postgres.close();
  }
}
