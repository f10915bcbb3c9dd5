import { type ChildProcess, fork } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "@chorus/testenv";

/** An orchestrator running as its own process (`chorus orchestrator`). */
export interface OrchestratorProcess {
  readonly name: string;
  readonly address: string;
  readonly child: ChildProcess;
  /** Sends `signal` to the process and waits until it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** The CLI bundle that `npm run build` makes; the pods run it too. */
export const CLI_BUNDLE = join(REPO_ROOT, "tools/cli/dist/chorus.mjs");

/** Forks `chorus orchestrator --config <path>` and waits (bounded) for its ready message. */
export function spawnOrchestrator(
  configPath: string,
  name: string,
  logs: Array<Record<string, unknown>>,
): Promise<OrchestratorProcess> {
  if (!existsSync(CLI_BUNDLE)) throw new Error(`${CLI_BUNDLE} is missing: run npm run build`);
  const child = fork(CLI_BUNDLE, ["orchestrator", "--config", configPath], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    env: { ...process.env, LOG_LEVEL: "info" },
  });
  let pending = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      try {
        logs.push({ orchestrator: name, ...JSON.parse(line) });
      } catch {
        logs.push({ orchestrator: name, msg: line });
      }
    }
  });
  child.stderr?.on("data", (chunk: Buffer) =>
    logs.push({ orchestrator: name, level: 50, msg: chunk.toString() }),
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop("SIGKILL");
      reject(new Error(`orchestrator ${name} did not start in 60 s`));
    }, 60_000);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`orchestrator ${name} exited at start (${signal ?? code})`));
    });
    child.on("message", (message: { type?: string; address?: string }) => {
      if (message.type !== "ready" || !message.address) return;
      clearTimeout(timer);
      resolve({ name, address: message.address, child, stop });
    });
  });
}
