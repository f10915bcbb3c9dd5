import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClientTransport, watchedChannelCredentials } from "@chorus/shared";
import { stringify } from "yaml";

/** The bundled CLI the tests run, built by `npm run build` (npm test does it first); $CHORUS_TEST_BUNDLE: another build. */
export const CLI_BUNDLE =
  process.env.CHORUS_TEST_BUNDLE ?? new URL("../../dist/chorus.mjs", import.meta.url).pathname;

/** A `chorus up` process started by a test, on free ports with its own data directory. */
export interface ChorusUp {
  readonly address: string;
  readonly configPath: string;
  readonly dir: string;
  readonly process: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** The pid of each service `chorus up` runs now (its --pids-file; undefined while one restarts). */
  pids(): Record<string, number | undefined>;
  /** Stops the mesh (SIGTERM to `chorus up`, which stops its children) and removes the directory. */
  stop(): Promise<void>;
}

/** Config for tests: free ports, a temp SQLite file, a fast simulator; `overrides` are merged per section. */
export function testConfig(dir: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, Record<string, unknown>> = {
    orchestrator: { port: 0, metrics_port: 0 },
    history: { port: 0, metrics_port: 0, path: join(dir, "data", "chorus.db") },
    simulator: { ttft_ms: 20, ttft_std_ms: 5, itl_ms: 2, itl_std_ms: 1, tokens: 16 },
  };
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const current = base[key];
    merged[key] =
      current && value && typeof value === "object" && !Array.isArray(value)
        ? { ...current, ...value }
        : value;
  }
  return merged;
}

/**
 * Starts `chorus up` (from `bundle`: the benchmark runs its snapshot) as a separate process and
 * waits (bounded) until it prints its address.
 */
export async function startChorusUp(
  overrides: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
  bundle = CLI_BUNDLE,
): Promise<ChorusUp> {
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build`);
  const dir = mkdtempSync(join(tmpdir(), "chorus-test-"));
  const configPath = join(dir, "chorus.yaml");
  writeFileSync(configPath, stringify(testConfig(dir, overrides)));
  const pidsFile = join(dir, "pids.json");
  const child = spawn(process.execPath, [bundle, "up", "--config", configPath, "--pids-file", pidsFile], {
    env: { ...process.env, LOG_LEVEL: process.env.CHORUS_TEST_LOG_LEVEL ?? "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const force = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(force);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`chorus up not ready in ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const check = () => {
      const match = /ready at (\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`chorus up exited with ${code}:\n${output}`));
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  child.removeAllListeners("exit");
  const pids = () => JSON.parse(readFileSync(pidsFile, "utf8")) as Record<string, number | undefined>;
  return { address, configPath, dir, process: child, output: () => output, pids, stop };
}

/**
 * The transport a test uses to call one of the mesh's agents or its history directly, as the
 * orchestrator does: the orchestrator's certificate from the throwaway CA `chorus up` made, and the
 * peer's mesh name pinned (they admit no one else).
 */
export function asOrchestrator(up: Pick<ChorusUp, "dir">, peer: "agent" | "history"): ClientTransport {
  const dir = join(up.dir, "data", "mesh-tls");
  return watchedChannelCredentials(
    {
      ca_file: join(dir, "ca.pem"),
      cert_file: join(dir, "orchestrator.pem"),
      key_file: join(dir, "orchestrator-key.pem"),
    },
    `chorus-${peer}`,
    60_000,
  );
}
