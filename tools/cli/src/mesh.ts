import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { type ChorusConfig, meshDir } from "@chorus/config";
import { type SupervisorReport, withHeapCeiling } from "@chorus/shared";
import type { RestartPolicy } from "./restart-budget.js";
import { type ServiceLaunch, SupervisedService, type SupervisionHooks } from "./supervised-service.js";

/** How to start the mesh. */
export interface MeshOptions {
  readonly config: ChorusConfig;
  readonly configFile: string | undefined;
  /** Pass --insecure to every service (listen beyond loopback without TLS or authentication). */
  readonly insecure?: boolean | undefined;
  /** Write service logs to files under `<data dir>/logs` instead of this terminal. */
  readonly logsToFiles: boolean;
  /** A line for the log: a service died, is being restarted, is back. */
  readonly onNotice: (line: string) => void;
  /** A service crash-looped: called once, with what happened, after the mesh has stopped. */
  readonly onCrashLoop: (message: string) => void;
  /** The services' pids, after the start and after every restart. */
  readonly onPids?: ((pids: Record<string, number | undefined>) => void) | undefined;
}

/** A running local mesh. */
export interface Mesh {
  readonly address: string;
  readonly llmBaseUrl: string;
  readonly logDir: string | undefined;
  /** Each service's current pid (undefined while it is being restarted). */
  pids(): Record<string, number | undefined>;
  stop(): Promise<void>;
}

/** The supervisor's bounds from the config's `supervisor` section. */
export function restartPolicy(config: ChorusConfig): RestartPolicy {
  const s = config.supervisor;
  return {
    backoffMs: s.restart_backoff_ms,
    maxBackoffMs: s.max_restart_backoff_ms,
    maxRestarts: s.crash_loop_restarts,
    windowMs: s.crash_loop_window_seconds * 1000,
  };
}

/**
 * Starts history, the simulator (unless a real model is configured) and the orchestrator as child
 * processes and restarts any that dies (see SupervisedService), telling the orchestrator over IPC;
 * with security.mesh.mode auto, first makes sure the mesh's throwaway CA and certificates exist.
 */
export async function startMesh(options: MeshOptions): Promise<Mesh> {
  const { config } = options;
  const policy = restartPolicy(config);
  const services: SupervisedService[] = [];
  const stop = async () => {
    for (const service of [...services].reverse()) await service.stop();
  };
  const pids = () => Object.fromEntries(services.map((s) => [s.name, s.pid]));
  let crashLooped = false;
  const hooks: SupervisionHooks = {
    notice: options.onNotice,
    crashLoop: (message) => {
      if (crashLooped) return;
      crashLooped = true;
      options.onNotice(`${message}: stopping the mesh`);
      void stop().then(() => options.onCrashLoop(message));
    },
    changed: () => {
      tellOrchestrator(services, policy);
      options.onPids?.(pids());
    },
  };
  const logDir = options.logsToFiles ? join(dirname(config.history.path), "logs") : undefined;
  if (logDir) mkdirSync(logDir, { recursive: true });
  const configArgs = [
    ...(options.configFile ? ["--config", options.configFile] : []),
    ...(options.insecure ? ["--insecure"] : []),
  ];
  const base = {
    env: process.env,
    execArgv: withHeapCeiling(process.execArgv, config.limits.heap_mb),
    logDir,
  };
  const service = (launch: ServiceLaunch) => {
    const supervised = new SupervisedService(launch, policy, hooks);
    services.push(supervised);
    return supervised.start();
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
    const history = await service({ ...base, name: "history", args: ["history", ...configArgs] });
    let llmBaseUrl = config.llm.base_url;
    if (!llmBaseUrl) {
      const simulator = await service({ ...base, name: "llm-sim", args: ["llm-sim", ...configArgs] });
      llmBaseUrl = simulator.address;
    }
    const orchestrator = await service({
      ...base,
      name: "orchestrator",
      args: ["orchestrator", ...configArgs, "--history-address", history.address],
      env: { ...process.env, OPENAI_BASE_URL: llmBaseUrl },
    });
    hooks.changed();
    return { address: orchestrator.address, llmBaseUrl, logDir, pids, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

// The orchestrator shows the supervisor's report in GetStatus.
function tellOrchestrator(services: readonly SupervisedService[], policy: RestartPolicy): void {
  const orchestrator = services.find((s) => s.name === "orchestrator")?.process;
  if (!orchestrator?.connected) return;
  const report: SupervisorReport = {
    type: "supervisor",
    pid: process.pid,
    crashLoopRestarts: policy.maxRestarts,
    windowSeconds: policy.windowMs / 1000,
    services: services.map((s) => s.report()),
  };
  // A send racing the orchestrator's death fails harmlessly: the next report follows its restart.
  orchestrator.send(report, () => undefined);
}
