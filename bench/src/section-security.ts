import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { concatResults } from "./drive.js";
import { measure, type RunRecord, record, withoutCdf } from "./measure.js";
import { type BenchMesh, fixedPool, type PoolSpec, startMesh, startSimulatorProcess } from "./mesh.js";
import type { BenchOptions } from "./options.js";
import { warmUp } from "./section-profiles.js";
import { type PublicSecurityFiles, writePublicSecurityFiles } from "./security-files.js";
import { type HopPoint, measureHops } from "./security-hops.js";
import { openTarget, type Target, type TargetSpec } from "./targets.js";
import { poolUsage, type WatchedProcess } from "./usage.js";

/** The three ways the section runs the same mesh. */
export type SecuritySetup = "plaintext" | "mesh-mtls" | "mtls-tls-key";

/** Each setup and what it means, in the order the first round runs them. */
export const SETUPS: ReadonlyArray<{ readonly id: SecuritySetup; readonly label: string }> = [
  { id: "plaintext", label: "plaintext, no keys (mesh.mode off)" },
  { id: "mesh-mtls", label: "mesh mTLS (the default)" },
  { id: "mtls-tls-key", label: "mesh mTLS + public TLS + API key" },
];

/** One setup at one concurrency: every round together, and each round. */
export interface SecurityPoint {
  readonly setup: SecuritySetup;
  readonly concurrency: number;
  /** All rounds' samples: turns/s over the summed windows, pooled percentiles, CPU over all windows. */
  readonly pooled: RunRecord;
  /** Each round on its own, in round order. */
  readonly rounds: RunRecord[];
}

/** What TLS and API keys cost against plaintext, measured in one run. */
export interface SecuritySection {
  readonly profile: "zero";
  readonly rounds: number;
  /** Unrecorded seconds at the start of every window (the closed loop refills after a switch). */
  readonly warmupS: number;
  /** Measured seconds of every window. */
  readonly windowS: number;
  readonly setups: typeof SETUPS;
  /** The order the setups ran at each level, per round. */
  readonly order: SecuritySetup[][];
  readonly points: SecurityPoint[];
  /** One gRPC call over each transport (echo, client + server): what a hop of a turn pays. */
  readonly hops: HopPoint[];
  readonly hopRounds: number;
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** The mesh's `security` block for `setup`. */
function securityBlock(
  setup: SecuritySetup,
  files: PublicSecurityFiles,
): Record<string, unknown> | undefined {
  switch (setup) {
    case "plaintext":
      return { mesh: { mode: "off" } };
    case "mesh-mtls":
      return undefined;
    case "mtls-tls-key":
      return {
        tls: { cert_file: files.certFile, key_file: files.keyFile },
        auth: { keys_file: files.keysFile },
      };
  }
}

type ChatTarget = Extract<TargetSpec, { kind: "chat" }>;

/** Setup (c) calls over TLS with the key; the others plaintext and keyless, as their ports expect. */
function targetOf(
  setup: SecuritySetup,
  mesh: BenchMesh,
  files: PublicSecurityFiles,
  tag: string,
): ChatTarget {
  const secured = setup === "mtls-tls-key";
  return {
    kind: "chat",
    address: mesh.address,
    tag,
    caFile: secured ? files.caFile : undefined,
    serverName: secured ? files.serverName : undefined,
    apiKey: secured ? files.apiKey : undefined,
  };
}

/** Round `round`'s order: the setups rotated by `round`, so no setup always runs first or last. */
function orderOf(round: number): SecuritySetup[] {
  const ids = SETUPS.map((s) => s.id);
  return ids.map((_, i) => ids[(i + round) % ids.length] as SecuritySetup);
}

/** Starts one mesh per setup, at once; if any fails, stops the others and throws its error. */
async function startMeshes(
  bundle: string,
  llmBaseUrl: string,
  pool: PoolSpec,
  files: PublicSecurityFiles,
): Promise<Map<SecuritySetup, BenchMesh>> {
  const started = await Promise.allSettled(
    SETUPS.map(({ id }) =>
      startMesh({ bundle, llmBaseUrl, profile: "zero", pool, security: securityBlock(id, files) }),
    ),
  );
  const meshes = new Map<SecuritySetup, BenchMesh>();
  started.forEach((result, i) => {
    const id = SETUPS[i]?.id;
    if (result.status === "fulfilled" && id) meshes.set(id, result.value);
  });
  const failed = started.find((result) => result.status === "rejected");
  if (failed) {
    await Promise.all([...meshes.values()].map((mesh) => mesh.stop()));
    throw failed.reason;
  }
  return meshes;
}

/**
 * Throws unless `mesh` is what `setup` claims, so a config key read wrongly cannot make the bench
 * compare plaintext with plaintext: the mesh CA exists exactly when mTLS is on, and the secured
 * port refuses a call over TLS without a key.
 */
async function verifySetup(setup: SecuritySetup, mesh: BenchMesh, files: PublicSecurityFiles): Promise<void> {
  const meshTls = existsSync(join(mesh.dir, "mesh-tls"));
  if (meshTls !== (setup !== "plaintext"))
    throw new Error(`${setup}: the mesh's CA directory ${meshTls ? "exists" : "is missing"}`);
  if (setup !== "mtls-tls-key") return;
  const keyless = await openTarget({ ...targetOf(setup, mesh, files, "sec-check"), apiKey: undefined });
  try {
    const refused = await keyless.call(0).then(
      () => undefined,
      (err: { code?: number }) => err.code,
    );
    if (refused !== status.UNAUTHENTICATED)
      throw new Error(`${setup}: a call without a key was not refused as UNAUTHENTICATED (${refused})`);
  } finally {
    await keyless.close();
  }
}

type Measured = Awaited<ReturnType<typeof measure>>;

/**
 * Every level × round × setup over the setups' open connections, a level's rounds one after
 * another and each round's setups back to back; keyed `<setup> <concurrency>`, in round order.
 */
async function measureRounds(
  options: BenchOptions,
  plan: NonNullable<BenchOptions["security"]>,
  targets: ReadonlyMap<SecuritySetup, Target>,
  processes: (setup: SecuritySetup) => WatchedProcess[],
): Promise<Map<string, Measured[]>> {
  const runs = new Map<string, Measured[]>();
  const { warmupMs, durationMs } = plan;
  for (const concurrency of plan.levels) {
    for (let round = 0; round < plan.rounds; round += 1) {
      const line: string[] = [];
      for (const setup of orderOf(round)) {
        const spec = {
          mode: "closed" as const,
          concurrency,
          warmupMs,
          durationMs,
          maxCalls: options.maxCalls,
        };
        const target = targets.get(setup) as Target;
        const measured = await measure(`chorus:${setup}`, "zero", spec, target, () => processes(setup));
        const key = `${setup} ${concurrency}`;
        runs.set(key, [...(runs.get(key) ?? []), measured]);
        line.push(`${setup} ${measured.run.perSecond}/s p50 ${measured.run.latency.p50} ms`);
      }
      log(`security c=${concurrency} round ${round + 1}: ${line.join(", ")}`);
    }
  }
  return runs;
}

/** One setup's rounds at one level as a point: every round pooled, and each on its own. */
function pointFrom(setup: SecuritySetup, concurrency: number, measured: readonly Measured[]): SecurityPoint {
  const usages = measured.flatMap(({ run }) => (run.usage ? [run.usage] : []));
  const spec = { concurrency, mode: "closed" as const };
  const all = concatResults(measured.map((m) => m.result));
  const pooled = record(`chorus:${setup}`, "zero", spec, all, poolUsage(usages));
  return { setup, concurrency, pooled, rounds: measured.map((m) => withoutCdf(m.run)) };
}

/** The three meshes' points: started, checked, warmed up alike, measured, stopped. */
async function measureMeshes(
  options: BenchOptions,
  plan: NonNullable<BenchOptions["security"]>,
  bundle: string,
  files: PublicSecurityFiles,
): Promise<SecurityPoint[]> {
  let sim: Awaited<ReturnType<typeof startSimulatorProcess>> | undefined;
  let meshes = new Map<SecuritySetup, BenchMesh>();
  const targets = new Map<SecuritySetup, Target>();
  try {
    sim = await startSimulatorProcess(bundle, "zero");
    const simProcess = { pid: sim.child.pid, service: "llm-sim" };
    meshes = await startMeshes(bundle, sim.url, fixedPool(Math.max(4, ...plan.levels), 1), files);
    const mesh = (setup: SecuritySetup) => meshes.get(setup) as BenchMesh;
    for (const { id } of SETUPS) {
      await verifySetup(id, mesh(id), files);
      targets.set(id, await openTarget(targetOf(id, mesh(id), files, `sec-${id}`)));
    }
    for (const { id } of SETUPS) await warmUp(options, "zero", targets.get(id) as Target);
    const processes = (setup: SecuritySetup) => [...mesh(setup).processes(), simProcess];
    const runs = await measureRounds(options, plan, targets, processes);
    return SETUPS.flatMap(({ id }) => plan.levels.map((c) => pointFrom(id, c, runs.get(`${id} ${c}`) ?? [])));
  } finally {
    await Promise.all([...targets.values()].map((target) => target.close()));
    await Promise.all([...meshes.values()].map((m) => m.stop()));
    await sim?.stop();
  }
}

/**
 * Starts three meshes on one `zero` simulator (plaintext; the default mesh mTLS; mesh mTLS with a
 * TLS public port and an API key on every call), checks each is what it claims, opens one client
 * per mesh for the whole section (long-lived connections), gives each the same warm-up, then runs
 * short back-to-back windows of the three, `rounds` times per level with the order rotated. Then,
 * with the meshes stopped, one echo call over each hop transport the same way.
 */
export async function securitySection(options: BenchOptions, bundle: string): Promise<SecuritySection> {
  const plan = options.security;
  if (!plan) throw new Error("the security section has no settings in these options");
  const dir = mkdtempSync(join(tmpdir(), "chorus-bench-security-"));
  try {
    const points = await measureMeshes(options, plan, bundle, await writePublicSecurityFiles(dir));
    const hops = await measureHops(options, plan, dir);
    return {
      profile: "zero",
      rounds: plan.rounds,
      warmupS: plan.warmupMs / 1000,
      windowS: plan.durationMs / 1000,
      setups: SETUPS,
      order: Array.from({ length: plan.rounds }, (_, round) => orderOf(round)),
      points,
      hops,
      hopRounds: plan.hopRounds,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
