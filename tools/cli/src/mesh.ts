import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { dirname, join } from "node:path";
import { type ChorusConfig, meshDir } from "@chorus/config";
import { withHeapCeiling } from "@chorus/shared";

/** A service process the supervisor started. */
interface Child {
  readonly name: string;
  readonly process: ChildProcess;
}

/** How to start the mesh. */
export interface MeshOptions {
  readonly config: ChorusConfig;
  readonly configFile: string | undefined;
  /** Pass --insecure to every service (listen beyond loopback without TLS or authentication). */
  readonly insecure?: boolean | undefined;
  /** Write service logs to files under `<data dir>/logs` instead of this terminal. */
  readonly logsToFiles: boolean;
  /** Called when a service exits on its own. */
  readonly onUnexpectedExit: (name: string, code: number | null, signal: string | null) => void;
}

/** A running local mesh. */
export interface Mesh {
  readonly address: string;
  readonly llmBaseUrl: string;
  readonly logDir: string | undefined;
  readonly pids: Record<string, number | undefined>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

interface ChildLaunch {
  readonly env: NodeJS.ProcessEnv;
  /** Node flags: this process's own, then the configured heap bound. */
  readonly execArgv: string[];
  readonly logDir: string | undefined;
}

function startChild(
  name: string,
  args: string[],
  launch: ChildLaunch,
  children: Child[],
): Promise<{ child: Child; address: string }> {
  const { env, execArgv, logDir } = launch;
  const output = logDir ? openSync(join(logDir, `${name}.log`), "a") : "inherit";
  const child = fork(process.argv[1] ?? "", args, {
    env,
    execArgv,
    stdio: ["ignore", output, output, "ipc"],
  });
  const entry = { name, process: child };
  children.push(entry);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not become ready in ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    );
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(
        new Error(
          `${name} exited with code ${code} before it was ready${logDir ? ` (see ${logDir}/${name}.log)` : ""}`,
        ),
      );
    });
    child.on("message", (message: { type?: string; address?: string }) => {
      if (message?.type !== "ready" || typeof message.address !== "string") return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      resolve({ child: entry, address: message.address });
    });
  });
}

function stopChild(child: Child): Promise<void> {
  return new Promise((resolve) => {
    if (child.process.exitCode !== null || child.process.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.process.kill("SIGKILL"), STOP_GRACE_MS);
    child.process.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    child.process.kill("SIGTERM");
  });
}

/**
 * Starts history, the simulator (unless a real model is configured) and the orchestrator as child
 * processes; with security.mesh.mode auto, first makes sure the mesh's throwaway CA and certificates exist.
 */
export async function startMesh(options: MeshOptions): Promise<Mesh> {
  const { config } = options;
  const children: Child[] = [];
  const stop = async () => {
    for (const child of [...children].reverse()) await stopChild(child);
  };
  const logDir = options.logsToFiles ? join(dirname(config.history.path), "logs") : undefined;
  if (logDir) mkdirSync(logDir, { recursive: true });
  const configArgs = [
    ...(options.configFile ? ["--config", options.configFile] : []),
    ...(options.insecure ? ["--insecure"] : []),
  ];
  const launch = {
    env: process.env,
    execArgv: withHeapCeiling(process.execArgv, config.limits.heap_mb),
    logDir,
  };
  if (config.security.mesh.mode === "auto") {
    // Loaded only here: service processes (agents above all) never carry the X.509 library.
    const { ensureMeshCertificates } = await import("@chorus/dev-ca");
    const { orchestrator_name, agent_name, history_name } = config.security.mesh;
    await ensureMeshCertificates(meshDir(config), {
      orchestrator: orchestrator_name,
      agent: agent_name,
      history: history_name,
    });
  }
  try {
    const history = await startChild("history", ["history", ...configArgs], launch, children);
    let llmBaseUrl = config.llm.base_url;
    if (!llmBaseUrl) {
      const simulator = await startChild("llm-sim", ["llm-sim", ...configArgs], launch, children);
      llmBaseUrl = simulator.address;
    }
    const orchestrator = await startChild(
      "orchestrator",
      ["orchestrator", ...configArgs, "--history-address", history.address],
      { ...launch, env: { ...process.env, OPENAI_BASE_URL: llmBaseUrl } },
      children,
    );
    for (const child of children) {
      child.process.once("exit", (code, signal) => options.onUnexpectedExit(child.name, code, signal));
    }
    return {
      address: orchestrator.address,
      llmBaseUrl,
      logDir,
      pids: Object.fromEntries(children.map((c) => [c.name, c.process.pid])),
      stop: async () => {
        for (const child of children) child.process.removeAllListeners("exit");
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
