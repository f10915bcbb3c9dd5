import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CertificateAuthority } from "@chorus/dev-ca";
import { type BenchChild, spawnReady } from "./child.js";
import { concatResults } from "./drive.js";
import { measure, type RunRecord, record, withoutCdf } from "./measure.js";
import type { BenchOptions } from "./options.js";
import { warmUp } from "./section-profiles.js";
import { openTarget, type Target, type TargetSpec } from "./targets.js";
import { poolUsage } from "./usage.js";

const ECHO_SERVER = new URL("./echo-server.ts", import.meta.url).pathname;

/** One gRPC hop's transport, as the mesh and the public port use them. */
export type HopMode = "plaintext" | "tls" | "mtls" | "mtls-guard";

/** Each hop transport and what it stands for. */
export const HOP_MODES: ReadonlyArray<{ readonly id: HopMode; readonly label: string }> = [
  { id: "plaintext", label: "plaintext" },
  { id: "tls", label: "TLS, server certificate only (as the public port)" },
  { id: "mtls", label: "mTLS, no name check" },
  { id: "mtls-guard", label: "mTLS + the orchestrator-only guard (as an agent or history)" },
];

/** One hop transport at one concurrency: every round pooled, and each round. */
export interface HopPoint {
  readonly mode: HopMode;
  readonly concurrency: number;
  readonly pooled: RunRecord;
  readonly rounds: RunRecord[];
}

/** Mesh-like certificates: a CA, a server named like an agent, a client named like the orchestrator. */
async function writeMeshLikeFiles(dir: string) {
  const ca = await CertificateAuthority.create("chorus bench hop CA");
  const server = await ca.issue({ name: "chorus-agent", ips: ["127.0.0.1"], usage: "server" });
  const client = await ca.issue({ name: "chorus-orchestrator", usage: "client" });
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  return {
    ca: write("hop-ca.pem", ca.cert),
    serverCert: write("hop-server.pem", server.cert),
    serverKey: write("hop-server-key.pem", server.key),
    clientCert: write("hop-client.pem", client.cert),
    clientKey: write("hop-client-key.pem", client.key),
  };
}

type HopFiles = Awaited<ReturnType<typeof writeMeshLikeFiles>>;

function serverEnv(mode: HopMode, files: HopFiles): NodeJS.ProcessEnv {
  if (mode === "plaintext") return {};
  const tls = { ECHO_TLS_CERT: files.serverCert, ECHO_TLS_KEY: files.serverKey };
  if (mode === "tls") return tls;
  const mtls = { ...tls, ECHO_TLS_CA: files.ca };
  return mode === "mtls" ? mtls : { ...mtls, ECHO_GUARD_NAME: "chorus-orchestrator" };
}

function targetOf(mode: HopMode, address: string, files: HopFiles): TargetSpec {
  const tag = `hop-${mode}`;
  if (mode === "plaintext") return { kind: "echo", address, tag };
  const serverName = "chorus-agent";
  if (mode === "tls") return { kind: "echo", address, tag, tls: { ca_file: files.ca, serverName } };
  const client = { ca_file: files.ca, cert_file: files.clientCert, key_file: files.clientKey, serverName };
  return { kind: "echo", address, tag, tls: client };
}

/**
 * One echo server per hop transport, one long-lived client each, the same warm-up, then
 * `rounds` rounds per level of one window per transport back to back: what one gRPC call costs in
 * CPU (client + server) over each transport.
 */
export async function measureHops(
  options: BenchOptions,
  plan: NonNullable<BenchOptions["security"]>,
  dir: string,
): Promise<HopPoint[]> {
  const files = await writeMeshLikeFiles(dir);
  const servers = new Map<HopMode, BenchChild>();
  const targets = new Map<HopMode, Target>();
  try {
    for (const { id } of HOP_MODES) {
      const { child, match } = await spawnReady(process.execPath, ["--import", "tsx", ECHO_SERVER], {
        env: serverEnv(id, files),
        ready: /ready at (\S+)/,
        timeoutMs: 30_000,
      });
      servers.set(id, child);
      targets.set(id, await openTarget(targetOf(id, match, files)));
    }
    for (const { id } of HOP_MODES) await warmUp(options, "zero", targets.get(id) as Target);
    const runs = new Map<string, Array<Awaited<ReturnType<typeof measure>>>>();
    const { warmupMs, durationMs } = plan;
    for (const concurrency of plan.levels) {
      for (let round = 0; round < plan.hopRounds; round += 1) {
        for (let i = 0; i < HOP_MODES.length; i += 1) {
          const id = (HOP_MODES[(i + round) % HOP_MODES.length] as (typeof HOP_MODES)[number]).id;
          const spec = {
            mode: "closed" as const,
            concurrency,
            warmupMs,
            durationMs,
            maxCalls: options.maxCalls * 5,
          };
          const pid = (servers.get(id) as BenchChild).pid;
          const measured = await measure(`echo:${id}`, "zero", spec, targets.get(id) as Target, () => [
            { pid, service: "echo-server" },
          ]);
          runs.set(`${id} ${concurrency}`, [...(runs.get(`${id} ${concurrency}`) ?? []), measured]);
        }
      }
    }
    return HOP_MODES.flatMap(({ id }) =>
      plan.levels.map((concurrency): HopPoint => {
        const measured = runs.get(`${id} ${concurrency}`) ?? [];
        const all = concatResults(measured.map((m) => m.result));
        const usage = poolUsage(measured.flatMap(({ run }) => (run.usage ? [run.usage] : [])));
        const pooled = record(`echo:${id}`, "zero", { concurrency, mode: "closed" }, all, usage);
        return { mode: id, concurrency, pooled, rounds: measured.map((m) => withoutCdf(m.run)) };
      }),
    );
  } finally {
    await Promise.all([...targets.values()].map((target) => target.close()));
    await Promise.all([...servers.values()].map((child) => child.stop(5000)));
  }
}
