import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type ChorusConfig, validateConfig } from "@chorus/config";
import { type RunningHistory, runHistory } from "@chorus/history";
import { type RunningSimulator, startSimulator } from "@chorus/llm-sim";
import { createLogger, type Logger } from "@chorus/shared";
import { BUILD_COMMAND, down, type TestEnv, up } from "@chorus/testenv";
import { AppsV1Api, CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { pino } from "pino";
import { stringify } from "yaml";
import { type RunningOrchestrator, runOrchestrator } from "../run-orchestrator.js";
import { createPool, DEPLOYMENT, orchestratorAccount, POOL, soloAgent, stopPods } from "./k8s-objects.js";
import { type OrchestratorProcess, spawnOrchestrator } from "./orchestrator-process.js";

export { AGENT_PORT, DEPLOYMENT, POOL } from "./k8s-objects.js";

/** A test control plane with one agent pool (Deployment + Service), a simulator and a history service. */
export interface AgentCluster {
  readonly env: TestEnv;
  readonly namespace: string;
  /** A kubeconfig with the orchestrator ServiceAccount's token: only the Role's verbs. */
  readonly orchestratorKubeconfig: string;
  readonly apps: AppsV1Api;
  readonly core: CoreV1Api;
  readonly simulator: RunningSimulator;
  readonly history: RunningHistory;
  /** Every log line of the orchestrators started with `orchestrator`, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  /** The orchestrator config file's content, with `scaling` for the pool and provider overrides. */
  rawConfig(scaling: Record<string, unknown>, kubernetes?: Record<string, unknown>): Record<string, unknown>;
  /** The same, validated. */
  config(scaling: Record<string, unknown>, kubernetes?: Record<string, unknown>): ChorusConfig;
  /** Starts an orchestrator in this process with provider kubernetes. */
  orchestrator(config: ChorusConfig, name?: string): Promise<RunningOrchestrator>;
  /** Starts `chorus orchestrator` as a separate process (the CLI bundle) with this config. */
  orchestratorProcess(raw: Record<string, unknown>, name: string): Promise<OrchestratorProcess>;
  /** Runs kubectl from the cache bin dir with the admin kubeconfig, in the test namespace. */
  kubectl(...args: string[]): Promise<string>;
  replicas(): Promise<number>;
  /** The pool's pods that are not being deleted. */
  livePods(): Promise<V1Pod[]>;
  close(): Promise<void>;
}

function captureLogger(name: string, logs: Array<Record<string, unknown>>): Logger {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n"))
        if (line) logs.push({ orchestrator: name, ...JSON.parse(line) });
      done();
    },
  });
  return pino({ name, level: "info" }, sink);
}

/**
 * Starts the test control plane (failing, with the build command, when its binaries are missing),
 * a simulator on the pod bridge, a history service, and a namespace with the pool's Deployment
 * (`replicas` pods running `chorus agent`), Service, and the orchestrator's ServiceAccount and Role.
 */
export async function startAgentCluster(options: {
  replicas: number;
  ttftMs: number;
}): Promise<AgentCluster> {
  let env: TestEnv;
  try {
    env = await up();
  } catch (err) {
    throw new Error(
      `the Kubernetes tests need the test control plane (built by \`${BUILD_COMMAND}\`, which npm test runs) and root: ${(err as Error).message}`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "chorus-k8s-"));
  const defaults = validateConfig({ security: { mesh: { mode: "off" } } }, "(defaults)");
  const opened: Array<() => Promise<void>> = [];
  const orchestrators: RunningOrchestrator[] = [];
  const processes: OrchestratorProcess[] = [];
  const logs: Array<Record<string, unknown>> = [];
  try {
    const simulator = await startSimulator({
      ...defaults.simulator,
      host: env.hostIp,
      port: 0,
      ttft_ms: options.ttftMs,
      ttft_std_ms: 0,
      itl_ms: 2,
      itl_std_ms: 0,
      tokens: 12,
    });
    opened.push(() => simulator.close());
    const history = await runHistory({
      config: defaults,
      host: "127.0.0.1",
      port: 0,
      path: join(dir, "history.db"),
      metricsPort: -1,
      log: createLogger("history", "warn"),
    });
    opened.push(() => history.close(1000));
    const namespace = `chorus-e2e-${randomBytes(3).toString("hex")}`;
    const core = env.kc.makeApiClient(CoreV1Api);
    const apps = env.kc.makeApiClient(AppsV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const orchestratorKubeconfig = join(dir, "orchestrator.kubeconfig");
    await orchestratorAccount(env, namespace, orchestratorKubeconfig);
    const cluster: AgentCluster = {
      env,
      namespace,
      orchestratorKubeconfig,
      apps,
      core,
      simulator,
      history,
      logs,
      rawConfig: (scaling, kubernetes = {}) => ({
        orchestrator: { port: 0, metrics_port: -1, agent_start_timeout_ms: 30_000 },
        history: { address: history.address },
        llm: { base_url: simulator.url },
        cache: { enabled: false },
        security: { mesh: { mode: "off" } },
        provider: {
          kind: "kubernetes",
          kubernetes: { namespace, kubeconfig: orchestratorKubeconfig, ...kubernetes },
        },
        agents: [soloAgent(scaling)],
      }),
      config: (scaling, kubernetes) => validateConfig(cluster.rawConfig(scaling, kubernetes), "(test)"),
      orchestratorProcess: async (raw, name) => {
        const path = join(dir, `${name}.yaml`);
        writeFileSync(path, stringify(raw));
        const started = await spawnOrchestrator(path, name, logs);
        processes.push(started);
        return started;
      },
      orchestrator: async (config, name = "orchestrator") => {
        const running = await runOrchestrator({
          config,
          host: "127.0.0.1",
          port: 0,
          metricsPort: -1,
          historyAddress: history.address,
          llmBaseUrl: simulator.url,
          llmApiKey: "chorus-simulator",
          agentCommand: { modulePath: "/nonexistent", args: [], execArgv: [], env: {} },
          log: captureLogger(name, logs),
        });
        // Tests close some orchestrators themselves; closing twice must be harmless.
        let closing: Promise<void> | undefined;
        const once = { ...running, close: (graceMs?: number) => (closing ??= running.close(graceMs)) };
        orchestrators.push(once);
        return once;
      },
      kubectl: async (...args) => {
        const result = await env.tool("kubectl", ["-n", namespace, ...args]);
        if (result.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${result.stderr}`);
        return result.stdout;
      },
      replicas: async () =>
        (await apps.readNamespacedDeployment({ name: DEPLOYMENT, namespace })).spec?.replicas ?? 0,
      livePods: async () =>
        (await core.listNamespacedPod({ namespace, labelSelector: `chorus.dev/pool=${POOL}` })).items.filter(
          (pod) => !pod.metadata?.deletionTimestamp,
        ),
      close: async () => {
        for (const started of processes.splice(0)) await started.stop("SIGKILL");
        for (const running of orchestrators.splice(0)) await running.close(1000).catch(() => undefined);
        for (const close of opened.splice(0).reverse()) await close().catch(() => undefined);
        await stopPods(env, apps, namespace);
        await down(env);
        rmSync(dir, { recursive: true, force: true });
      },
    };
    await createPool(env, namespace, simulator.url, options.replicas);
    return cluster;
  } catch (err) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    await down(env);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
