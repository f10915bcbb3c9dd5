import { readFileSync, writeFileSync } from "node:fs";
import type { TestEnv } from "@chorus/testenv";
import { AppsV1Api, CoreV1Api, RbacAuthorizationV1Api, type V1Deployment } from "@kubernetes/client-node";
import { stringify } from "yaml";

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
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch", "list", "watch"] },
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

/** Creates the pool's ConfigMap, Service and Deployment (`replicas` pods), as the chart would. */
export async function createPool(
  env: TestEnv,
  namespace: string,
  llmUrl: string,
  replicas: number,
): Promise<void> {
  const core = env.kc.makeApiClient(CoreV1Api);
  const apps = env.kc.makeApiClient(AppsV1Api);
  // This suite tests the provider, not transport security: plaintext pods, said explicitly.
  const agentConfig = {
    llm: { base_url: llmUrl },
    agents: [soloAgent({})],
    security: { insecure: true, mesh: { mode: "off" } },
  };
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

/** Creates the orchestrator's ServiceAccount, Role and RoleBinding; writes a kubeconfig with its token. */
export async function orchestratorAccount(env: TestEnv, namespace: string, path: string): Promise<void> {
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

/**
 * Scales the pool to 0 and waits (bounded) until the kubelet has stopped its pods. Removing pods
 * while the pod bridge still exists lets a readiness probe caught mid-connect fail fast; once
 * `down` has removed the bridge, such a connect hangs in SYN retries for about two minutes and
 * keeps the test process alive.
 */
export async function stopPods(env: TestEnv, apps: AppsV1Api, namespace: string): Promise<void> {
  try {
    const body = [{ op: "add", path: "/spec/replicas", value: 0 }];
    await apps.patchNamespacedDeploymentScale({ name: DEPLOYMENT, namespace, body });
  } catch {
    return;
  }
  const end = Date.now() + 30_000;
  while (Date.now() < end && env.kubelet.pods().some((pod) => pod.namespace === namespace)) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // An in-flight probe of the last pod gives up (host unreachable) within about three seconds.
  await new Promise((resolve) => setTimeout(resolve, 3500));
}
