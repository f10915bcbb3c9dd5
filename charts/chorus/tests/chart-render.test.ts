import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { validateConfig } from "@chorus/config";
import { parse, stringify } from "yaml";
import { find, type Manifest, podSpecOf, renderChart } from "../scripts/helm.js";

const POOLS = ["creative", "analytical", "balanced"];
/** The least a render needs: callers must authenticate (here with API keys from a Secret). */
const KEYS = ["--set", "auth.existingSecret=chorus-api-keys"];
const defaults = renderChart(KEYS);
const workloads = (manifests: Manifest[]) =>
  manifests.filter((m) => ["Deployment", "StatefulSet", "Pod"].includes(m.kind));
const configOf = (manifests: Manifest[], name: string) =>
  parse(find(manifests, "ConfigMap", name).data["chorus.yaml"]);

/** Every (apiGroup, resource, verb) a Role grants, as "group/resource:verb" strings. */
function grants(role: Manifest): string[] {
  const out: string[] = [];
  for (const rule of role.rules) {
    for (const group of rule.apiGroups)
      for (const resource of rule.resources)
        for (const verb of rule.verbs) out.push(`${group || "core"}/${resource}:${verb}`);
  }
  return out.sort();
}

describe("charts/chorus render", () => {
  it("grants the orchestrator exactly the verbs the KubernetesProvider needs, and nothing cluster-wide", () => {
    assert.deepEqual(
      defaults.filter((m) => /^Cluster/.test(m.kind)).map((m) => m.kind),
      [],
    );
    const role = find(defaults, "Role", "chorus-orchestrator");
    assert.deepEqual(
      grants(role),
      [
        "apps/deployments:get",
        "apps/deployments:list",
        "apps/deployments:watch",
        "apps/deployments/scale:get",
        "apps/deployments/scale:patch",
        "apps/deployments/scale:update",
        "core/pods:get",
        "core/pods:list",
        "core/pods:patch",
        "core/pods:watch",
        "core/events:create",
        "core/events:patch",
        "core/events:list",
        "core/events:watch",
        "discovery.k8s.io/endpointslices:list",
        "discovery.k8s.io/endpointslices:watch",
        "coordination.k8s.io/leases:create",
        "coordination.k8s.io/leases:get",
        "coordination.k8s.io/leases:update",
      ].sort(),
    );
    const scale = role.rules.find((r: Manifest) => r.resources.includes("deployments/scale"));
    assert.deepEqual(
      scale.resourceNames,
      POOLS.map((p) => `chorus-agent-${p}`),
      "scaling is limited to the pools",
    );
    const binding = find(defaults, "RoleBinding", "chorus-orchestrator");
    assert.deepEqual(binding.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: "chorus-orchestrator",
    });
    assert.deepEqual(binding.subjects, [
      { kind: "ServiceAccount", name: "chorus-orchestrator", namespace: "default" },
    ]);
    const orchestrator = find(defaults, "Deployment", "chorus-orchestrator");
    assert.equal(podSpecOf(orchestrator).serviceAccountName, "chorus-orchestrator");
    for (const pod of workloads(defaults).filter((m) => m !== orchestrator)) {
      assert.equal(
        podSpecOf(pod).automountServiceAccountToken,
        false,
        `${pod.metadata.name} gets no API token`,
      );
    }
  });

  it("gives every pod a config file that Chorus accepts, rolled by a checksum of exactly that file", () => {
    for (const workload of workloads(defaults).filter((m) => m.kind !== "Pod")) {
      const spec = podSpecOf(workload);
      const volume = spec.volumes.find((v: Manifest) => v.name === "config");
      const map = find(defaults, "ConfigMap", volume.configMap.name);
      const text: string = map.data["chorus.yaml"];
      const config = validateConfig(parse(text), `${map.metadata.name}/chorus.yaml`);
      assert.equal(config.workflow, "chorus");
      const checksum = workload.spec.template.metadata.annotations["checksum/config"];
      assert.equal(checksum, createHash("sha256").update(text.replace(/\n$/, "")).digest("hex"));
      assert.deepEqual(spec.containers[0].args.slice(1, 3), ["--config", "/etc/chorus/chorus.yaml"]);
    }
  });

  it("names pools, Services, the Lease and history in the orchestrator's config as the chart creates them", () => {
    const config = configOf(defaults, "chorus-orchestrator");
    const k8s = config.provider.kubernetes;
    assert.equal(config.provider.kind, "kubernetes");
    for (const pool of POOLS) {
      const deployment = find(defaults, "Deployment", k8s.deployment_template.replace("{pool}", pool));
      const labels = { "app.kubernetes.io/name": "chorus", "app.kubernetes.io/component": "agent" };
      assert.deepEqual(deployment.metadata.labels, {
        ...deployment.metadata.labels,
        ...labels,
        "chorus.dev/pool": pool,
      });
      const service = find(defaults, "Service", k8s.service_template.replace("{pool}", pool));
      assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);
      assert.deepEqual(deployment.spec.template.metadata.labels, deployment.spec.selector.matchLabels);
      const named = service.spec.ports.find((p: Manifest) => p.name === k8s.agent_port_name);
      const container = podSpecOf(deployment).containers[0];
      const port = container.ports.find((p: Manifest) => p.name === k8s.agent_port_name);
      assert.ok(named && port, `${pool}: Service and container both name a port ${k8s.agent_port_name}`);
      assert.equal(named.targetPort, k8s.agent_port_name);
    }
    const lease = find(defaults, "Role", "chorus-orchestrator").rules.find((r: Manifest) =>
      r.resourceNames?.includes(k8s.lease_name),
    );
    assert.deepEqual(lease?.resources, ["leases"]);
    const [host, port] = config.history.address.split(":");
    assert.equal(find(defaults, "Service", host).spec.ports[0].port, Number(port));
    assert.match(config.llm.base_url, /^http:\/\/chorus-llm-sim:8000\/v1$/);
    assert.equal(find(defaults, "Service", "chorus-llm-sim").spec.ports[0].port, 8000);
  });

  it("starts each agent pod with its pool and its pod name as replica id, at init_blocks replicas", () => {
    // --set on a list item replaces the whole list, so the pools come from a values file.
    const persona = { temperature: 0.5, max_tokens: 100, system_prompt: "You help." };
    const agents = [
      { name: "creative", ...persona, scaling: { init_blocks: 3 } },
      { name: "analytical", ...persona, replicas: 2 },
      { name: "balanced", ...persona },
    ];
    const dir = mkdtempSync(join(tmpdir(), "chorus-chart-"));
    const file = join(dir, "values.yaml");
    writeFileSync(file, stringify({ config: { agents } }));
    const rendered = renderChart([...KEYS, "--values", file]);
    rmSync(dir, { recursive: true });
    const replicas = POOLS.map((p) => find(rendered, "Deployment", `chorus-agent-${p}`).spec.replicas);
    assert.deepEqual(replicas, [3, 2, 1]);
    for (const pool of POOLS) {
      const spec = podSpecOf(find(defaults, "Deployment", `chorus-agent-${pool}`));
      const [container] = spec.containers;
      const arg = (flag: string) => container.args[container.args.indexOf(flag) + 1];
      assert.equal(container.args[0], "agent");
      assert.equal(arg("--agent"), pool);
      assert.equal(arg("--replica-id"), "$(POD_NAME)");
      assert.equal(
        arg("--port"),
        String(container.ports.find((p: Manifest) => p.name === "grpc").containerPort),
      );
      const podName = container.env.find((e: Manifest) => e.name === "POD_NAME");
      assert.deepEqual(podName.valueFrom, { fieldRef: { fieldPath: "metadata.name" } });
      assert.deepEqual(
        configOf(defaults, `chorus-agent-${pool}`).agents.map((a: Manifest) => a.name),
        [pool],
      );
    }
  });

  it("hardens every pod: non-root, read-only root, no capabilities, RuntimeDefault seccomp, /tmp as emptyDir", () => {
    const all = workloads(renderChart([...KEYS, "--set", "redis.enabled=true"]));
    assert.ok(all.some((m) => m.metadata.name === "chorus-redis"));
    for (const workload of all) {
      const spec = podSpecOf(workload);
      const name = workload.metadata.name;
      assert.equal(spec.securityContext.runAsNonRoot, true, name);
      assert.equal(spec.securityContext.seccompProfile.type, "RuntimeDefault", name);
      for (const container of spec.containers) {
        const sc = container.securityContext;
        assert.equal(sc.readOnlyRootFilesystem, true, name);
        assert.equal(sc.allowPrivilegeEscalation, false, name);
        assert.deepEqual(sc.capabilities.drop, ["ALL"], name);
        const tmp = container.volumeMounts.find((m: Manifest) => m.mountPath === "/tmp");
        assert.ok(
          spec.volumes.find((v: Manifest) => v.name === tmp?.name)?.emptyDir,
          `${name}: /tmp emptyDir`,
        );
      }
    }
  });

  it("probes every Chorus service with GET /healthz on its port named metrics, which it serves there", () => {
    const chorusPods = workloads(defaults).filter((m) =>
      ["orchestrator", "history", "agent"].includes(
        m.spec.template?.metadata.labels["app.kubernetes.io/component"],
      ),
    );
    assert.equal(chorusPods.length, 2 + POOLS.length);
    for (const workload of chorusPods) {
      const name = workload.metadata.name;
      const [container] = podSpecOf(workload).containers;
      const port = container.ports.find((p: Manifest) => p.name === "metrics").containerPort;
      assert.deepEqual(container.readinessProbe.httpGet, { path: "/healthz", port: "metrics" }, name);
      assert.deepEqual(container.livenessProbe.httpGet, { path: "/healthz", port: "metrics" }, name);
      assert.equal(container.readinessProbe.grpc, undefined, `${name}: gRPC probes cannot speak mTLS`);
      const flag = container.args.indexOf("--metrics-port");
      const served =
        flag >= 0
          ? Number(container.args[flag + 1])
          : configOf(defaults, podSpecOf(workload).volumes[0].configMap.name)[
              workload.metadata.labels["app.kubernetes.io/component"]
            ].metrics_port;
      assert.equal(served, port, `${name}: the service serves /healthz on the probed port`);
    }
  });

  it("keeps the history database on a PVC at /data, with one replica", () => {
    const history = find(defaults, "StatefulSet", "chorus-history");
    assert.equal(history.spec.replicas, 1);
    const [claim] = history.spec.volumeClaimTemplates;
    const [container] = podSpecOf(history).containers;
    assert.equal(
      container.volumeMounts.find((m: Manifest) => m.name === claim.metadata.name).mountPath,
      "/data",
    );
    assert.equal(container.workingDir, "/data");
    assert.equal(configOf(defaults, "chorus-history").history.path, "chorus.db", "relative to /data");
  });

  it("has a helm test pod that health-checks orchestrator, history and every pool's Service over TLS as the orchestrator dials them", () => {
    const pod = find(defaults, "Pod", "chorus-test-health");
    assert.equal(pod.metadata.annotations["helm.sh/hook"], "test");
    assert.equal(pod.spec.restartPolicy, "Never");
    const tls = pod.spec.volumes.find((v: Manifest) => v.name === "tls");
    assert.equal(tls.secret.secretName, "chorus-orchestrator-tls", "the orchestrator's identity");
    const checked: string[] = [];
    const expectedName: Record<string, string | undefined> = {
      "chorus-orchestrator": undefined,
      "chorus-history": "chorus-history",
      ...Object.fromEntries(POOLS.map((p) => [`chorus-agent-${p}`, "chorus-agent"])),
    };
    for (const container of pod.spec.containers) {
      const args: string[] = container.args;
      const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
      assert.equal(args[0], "health");
      const mount = container.volumeMounts.find((m: Manifest) => m.name === "tls").mountPath;
      assert.equal(flag("--cacert"), `${mount}/ca.crt`);
      assert.equal(flag("--cert"), `${mount}/tls.crt`);
      assert.equal(flag("--key"), `${mount}/tls.key`);
      for (const address of args.slice(1).filter((a) => a.includes(":") && !a.startsWith("/"))) {
        const [name = "", port] = address.split(":");
        const grpc = find(defaults, "Service", name).spec.ports.find((p: Manifest) => p.name === "grpc");
        assert.equal(grpc.port, Number(port), address);
        assert.equal(
          flag("--server-name"),
          expectedName[name],
          `${address}: the name its certificate carries`,
        );
        checked.push(name);
      }
    }
    assert.deepEqual(checked.sort(), Object.keys(expectedName).sort());
  });

  it("lets only the orchestrator (and the test pod) into agents and history", () => {
    for (const name of ["chorus-history", ...POOLS.map((p) => `chorus-agent-${p}`)]) {
      const policy = find(defaults, "NetworkPolicy", name);
      assert.deepEqual(policy.spec.policyTypes, ["Ingress"]);
      assert.equal(policy.spec.ingress.length, 1, `${name}: one rule (metrics are closed by default)`);
      const [peer] = policy.spec.ingress[0].from;
      assert.deepEqual(peer.podSelector.matchLabels, {
        "app.kubernetes.io/name": "chorus",
        "app.kubernetes.io/instance": "chorus",
      });
      assert.deepEqual(peer.podSelector.matchExpressions, [
        { key: "app.kubernetes.io/component", operator: "In", values: ["orchestrator", "test"] },
      ]);
      assert.equal(policy.spec.ingress[0].from.length, 1);
    }
    const orchestrator = find(defaults, "NetworkPolicy", "chorus-orchestrator");
    assert.deepEqual(orchestrator.spec.ingress, [{ ports: [{ port: "grpc" }] }], "clients from anywhere");
    const restricted = find(
      renderChart([...KEYS, "--set", "networkPolicy.clientsFrom[0].namespaceSelector.matchLabels.team=a"]),
      "NetworkPolicy",
      "chorus-orchestrator",
    );
    assert.deepEqual(
      restricted.spec.ingress[0].from.map((peer: Manifest) => Object.keys(peer)[0]),
      ["namespaceSelector", "podSelector"],
      "the listed clients, and the test pod",
    );
  });

  it("renders Redis, a real model and Secrets only when asked", () => {
    const kinds = (ms: Manifest[]) => ms.map((m) => `${m.kind}/${m.metadata.name}`);
    const secrets = (ms: Manifest[]) =>
      kinds(ms).filter((k) => k.startsWith("Secret/") && !k.endsWith("-tls"));
    assert.ok(!kinds(defaults).some((k) => /redis/.test(k)));
    assert.deepEqual(secrets(defaults), ["Secret/chorus-ca"], "only the certificates' CA");
    const rendered = renderChart([
      ...KEYS,
      "--set",
      "redis.enabled=true",
      "--set",
      "openai.baseUrl=https://api.openai.com/v1",
      "--set",
      "openai.apiKey=sk-test",
    ]);
    assert.ok(kinds(rendered).includes("Deployment/chorus-redis"));
    assert.ok(!kinds(rendered).some((k) => k.includes("llm-sim")), "no simulator with a real model");
    const config = configOf(rendered, "chorus-orchestrator");
    assert.equal(config.redis.url, "redis://chorus-redis:6379");
    assert.equal(config.llm.base_url, "https://api.openai.com/v1");
    assert.equal(find(rendered, "Secret", "chorus-openai").stringData.OPENAI_API_KEY, "sk-test");
    const existing = renderChart([
      ...KEYS,
      "--set",
      "tls.source=existingSecrets",
      "--set",
      "openai.existingSecret=mine",
      "--set",
      "openai.existingSecretKey=key",
    ]);
    assert.deepEqual(
      kinds(existing).filter((k) => k.startsWith("Secret/")),
      [],
    );
    const env = podSpecOf(find(existing, "Deployment", "chorus-agent-creative")).containers[0].env;
    assert.deepEqual(env.find((e: Manifest) => e.name === "OPENAI_API_KEY").valueFrom, {
      secretKeyRef: { name: "mine", key: "key" },
    });
  });
});
