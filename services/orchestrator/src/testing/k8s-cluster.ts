import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type RunningHistory, runHistory } from "@chorus/history";
import { type RunningSimulator, startSimulator } from "@chorus/llm-sim";
import { type ChorusConfig, createLogger, type Logger, validateConfig } from "@chorus/shared";
import { BUILD_COMMAND, down, REPO_ROOT, type TestEnv, up } from "@chorus/testenv";
import {
  AppsV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
  type V1Deployment,
  type V1Pod,
} from "@kubernetes/client-node";
import { pino } from "pino";
import { stringify } from "yaml";
import { type RunningOrchestrator, runOrchestrator } from "../run-orchestrator.js";

/** The one pool the cluster tests run, and its port in every pod. */
export const POOL = "solo";
export const DEPLOYMENT = `chorus-agent-${POOL}`;
export const AGENT_PORT = 50061;
const LABELS = {
  "app.kubernetes.io/name": "chorus",
  "app.kubernetes.io/component": "agent",
  "chorus.dev/pool": POOL,
};

/** The orchestrator Role of the chart (charts/chorus), as strict: scale and lease rights by name. */
export const ORCHESTRATOR_RULES = [
  { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list", "watch"] },
  {
    apiGroups: ["apps"],
    resources: ["deployments/scale"],
    resourceNames: [DEPLOYMENT],
    verbs: ["get", "patch", "update"],
  },
  { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch", "patch"] },
  { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
  {
    apiGroups: ["coordination.k8s.io"],
    resources: ["leases"],
    resourceNames: ["chorus-orchestrator"],
    verbs: ["get", "update"],
  },
];

/** The agent persona every pod and orchestrator of the tests share. */
export function soloAgent(scaling: Record<string, unknown>) {
  return {
    name: POOL,
    temperature: 0.5,
    max_tokens: 200,
    workers: 2,
    system_prompt: "You are a helpful assistant.",
    scaling,
  };
}

/** An orchestrator running as its own process (`chorus orchestrator`). */
export interface OrchestratorProcess {
  readonly name: string;
  readonly address: string;
  readonly child: ChildProcess;
  /** Sends `signal` to the process and waits until it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

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

function writeKubeconfig(env: TestEnv, token: string, path: string): void {
  const cluster = env.kc.getCurrentCluster();
  const ca = cluster?.caData ?? Buffer.from(readFileSync(cluster?.caFile ?? "")).toString("base64");
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "testenv", cluster: { server: env.server, "certificate-authority-data": ca } }],
    users: [{ name: "orchestrator", user: { token } }],
    contexts: [{ name: "orchestrator", context: { cluster: "testenv", user: "orchestrator" } }],
    "current-context": "orchestrator",
  };
  writeFileSync(path, stringify(config));
}

function deployment(namespace: string, replicas: number): V1Deployment {
  return {
    metadata: { name: DEPLOYMENT, namespace, labels: LABELS },
    spec: {
      replicas,
      selector: { matchLabels: LABELS },
      template: {
        metadata: { labels: LABELS },
        spec: {
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 10,
          volumes: [{ name: "config", configMap: { name: `${DEPLOYMENT}-config` } }],
          containers: [
            {
              name: "agent",
              image: "chorus:test",
              // No command: the image entrypoint `chorus` is the CLI bundle on the test kubelet.
              args: [
                "agent",
                "--config",
                "/etc/chorus/chorus.yaml",
                "--agent",
                POOL,
                "--host",
                "0.0.0.0",
              ].concat(["--port", String(AGENT_PORT), "--replica-id", "$(POD_NAME)"]),
              env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
              ports: [{ name: "grpc", containerPort: AGENT_PORT }],
              volumeMounts: [{ name: "config", mountPath: "/etc/chorus", readOnly: true }],
              readinessProbe: { grpc: { port: AGENT_PORT }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
}

async function createPool(cluster: AgentCluster, replicas: number): Promise<void> {
  const { core, apps, namespace, simulator } = cluster;
  const agentConfig = { llm: { base_url: simulator.url }, agents: [soloAgent({})] };
  await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: `${DEPLOYMENT}-config` }, data: { "chorus.yaml": stringify(agentConfig) } },
  });
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: DEPLOYMENT, labels: LABELS },
      spec: { selector: LABELS, ports: [{ name: "grpc", port: AGENT_PORT, targetPort: "grpc" }] },
    },
  });
  await apps.createNamespacedDeployment({ namespace, body: deployment(namespace, replicas) });
}

async function orchestratorAccount(env: TestEnv, namespace: string, path: string): Promise<void> {
  const core = env.kc.makeApiClient(CoreV1Api);
  const rbac = env.kc.makeApiClient(RbacAuthorizationV1Api);
  const name = "chorus-orchestrator";
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules: ORCHESTRATOR_RULES } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ kind: "ServiceAccount", name, namespace }],
    },
  });
  const request = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  writeKubeconfig(env, request.status?.token ?? "", path);
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

/** The CLI bundle that `npm run build` makes; the pods run it too. */
export const CLI_BUNDLE = join(REPO_ROOT, "tools/cli/dist/chorus.mjs");

function spawnOrchestrator(
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
      `the Kubernetes tests need the test control plane; build it with \`${BUILD_COMMAND}\`: ${(err as Error).message}`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "chorus-k8s-"));
  const defaults = validateConfig({}, "(defaults)");
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
        await down(env);
        rmSync(dir, { recursive: true, force: true });
      },
    };
    await createPool(cluster, options.replicas);
    return cluster;
  } catch (err) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    await down(env);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
