import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  AppsV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
} from "@kubernetes/client-node";
import { REPO_ROOT } from "./binaries.js";
import { linkExists, listNetns } from "./netns.js";
import { grpcHealthCheck } from "./probes.js";
import { isAlive, waitFor } from "./processes.js";
import { down, type TestEnv, up } from "./testenv.js";

/**
 * The shipped chorus.yaml with mesh mTLS off and plaintext allowed beyond loopback: this suite
 * tests the control plane and the kubelet, not transport security (the chart's e2e test does).
 */
function plaintextConfig(): string {
  const shipped = readFileSync(join(REPO_ROOT, "config/chorus.yaml"), "utf8");
  const plain = shipped
    .replace(/^ {2}insecure: false$/m, "  insecure: true")
    .replace(/^ {4}mode: auto$/m, '    mode: "off"');
  assert.notEqual(
    plain.match(/^ {2}insecure: true$/m),
    null,
    "config/chorus.yaml has no security.insecure line",
  );
  assert.notEqual(
    plain.match(/^ {4}mode: "off"$/m),
    null,
    "config/chorus.yaml has no security.mesh.mode line",
  );
  return plain;
}

const NS = "default";
const NAME = "smoke-agent";
const MERGE = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const verbose = process.env.CHORUS_TESTENV_VERBOSE === "1";

/** The MAC of the bridge holding `gateway`, and the MACs of its ports (the pods' host veths). */
function bridgeAddresses(gateway: string): { bridge: string; ports: string[] } {
  const ipJson = (...args: string[]) =>
    JSON.parse(execFileSync("ip", ["-j", ...args], { encoding: "utf8" })) as Array<{
      ifname: string;
      address: string;
      addr_info?: Array<{ local: string }>;
    }>;
  const bridge = ipJson("addr", "show").find((l) => l.addr_info?.some((a) => a.local === gateway));
  assert.ok(bridge, `a link holds ${gateway}`);
  const ports = ipJson("link", "show", "master", bridge.ifname).map((l) => l.address);
  return { bridge: bridge.address, ports };
}

function deployment(replicas: number): V1Deployment {
  const labels = { "app.kubernetes.io/name": "chorus", "app.kubernetes.io/component": "agent", app: NAME };
  return {
    metadata: { name: NAME, namespace: NS, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 5,
          volumes: [{ name: "config", configMap: { name: `${NAME}-config` } }],
          containers: [
            {
              name: "agent",
              image: "chorus:test",
              // No command: the image entrypoint `chorus` maps to the local CLI bundle.
              args: [
                "agent",
                "--config",
                "/etc/chorus/chorus.yaml",
                "--host",
                "0.0.0.0",
                "--port",
                "8000",
              ].concat(["--replica-id", "$(POD_NAME)"]),
              env: [
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                {
                  name: "GREETING",
                  valueFrom: { configMapKeyRef: { name: `${NAME}-config`, key: "greeting" } },
                },
              ],
              ports: [{ name: "grpc", containerPort: 8000 }],
              volumeMounts: [{ name: "config", mountPath: "/etc/chorus", readOnly: true }],
              readinessProbe: { grpc: { port: 8000 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
}

function inode(path: string): number {
  return statSync(path).ino;
}

describe("test control plane (etcd, kube-apiserver, kube-controller-manager, test kubelet)", () => {
  let env: TestEnv | undefined;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let discovery: DiscoveryV1Api;
  const started: { pids: number[]; netns: string[] } = { pids: [], netns: [] };

  const readyPods = async (count: number) =>
    waitFor(
      `${count} Ready pods`,
      async () => {
        const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: `app=${NAME}` })).items;
        const ready = pods.filter(
          (p) =>
            !p.metadata?.deletionTimestamp &&
            p.status?.phase === "Running" &&
            p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        );
        return ready.length === count && pods.length === count ? ready : undefined;
      },
      60_000,
      250,
    );

  /** The addresses a pod's resolver gives for `name` (getent inside the pod's network namespace). */
  const resolvedIn = (netns: string, name: string) => {
    try {
      const out = execFileSync("ip", ["netns", "exec", netns, "getent", "ahostsv4", name], {
        encoding: "utf8",
        timeout: 5000,
      });
      return [...new Set(out.split("\n").map((line) => line.split(/\s+/)[0] ?? ""))].filter(Boolean).sort();
    } catch {
      return []; // getent exits 2 for a name it does not know
    }
  };

  const sliceIps = async () => {
    const slices = await discovery.listNamespacedEndpointSlice({
      namespace: NS,
      labelSelector: `kubernetes.io/service-name=${NAME}`,
    });
    return slices.items
      .flatMap((s) => s.endpoints)
      .filter((e) => e.conditions?.ready)
      .flatMap((e) => e.addresses)
      .sort();
  };

  it("starts the control plane, or fails saying why (root, binaries)", { timeout: 180_000 }, async () => {
    env = await up(verbose ? { log: (m) => console.error(`[testenv] ${m}`) } : {});
    core = env.kc.makeApiClient(CoreV1Api);
    apps = env.kc.makeApiClient(AppsV1Api);
    discovery = env.kc.makeApiClient(DiscoveryV1Api);
    started.pids.push(...env.controlPlanePids);
    const nodes = await core.listNode();
    assert.deepEqual(
      nodes.items.map((n) => n.metadata?.name),
      [env.kubelet.nodeName],
    );
    const version = await env.tool("kubectl", ["version", "-o", "json"]);
    assert.equal(version.code, 0, version.stderr);
    assert.match(JSON.parse(version.stdout).serverVersion.gitVersion, /^v1\.\d+\.\d+$/);
  });

  it("runs a Deployment's pods as processes in their own network namespaces, Ready with namespace IPs", {
    timeout: 120_000,
  }, async () => {
    assert.ok(env, "control plane not started");
    await core.createNamespacedConfigMap({
      namespace: NS,
      body: {
        metadata: { name: `${NAME}-config` },
        data: {
          "chorus.yaml": plaintextConfig(),
          greeting: "hello",
        },
      },
    });
    await core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: NAME },
        spec: { selector: { app: NAME }, ports: [{ name: "grpc", port: 8000, targetPort: "grpc" }] },
      },
    });
    await apps.createNamespacedDeployment({ namespace: NS, body: deployment(2) });
    const pods = await readyPods(2);
    const prefix = env.podCidr.replace(/0\/24$/, "");
    for (const pod of pods)
      assert.ok(pod.status?.podIP?.startsWith(prefix), `${pod.status?.podIP} in ${env.podCidr}`);
    const running = env.kubelet.pods();
    assert.equal(running.length, 2);
    for (const pod of running) {
      assert.ok(pod.netns && pod.pids.length === 1, `${pod.name} has a namespace and one process`);
      const pid = pod.pids[0] ?? 0;
      assert.equal(
        inode(`/proc/${pid}/ns/net`),
        inode(`/run/netns/${pod.netns}`),
        "process is inside the pod netns",
      );
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      assert.ok(environ.includes(`POD_IP=${pod.ip}`), "fieldRef status.podIP resolved");
      assert.ok(environ.includes(`POD_NAME=${pod.name}`), "fieldRef metadata.name resolved");
      assert.ok(environ.includes("GREETING=hello"), "configMapKeyRef resolved");
      started.pids.push(pid);
      started.netns.push(pod.netns);
    }
    assert.ok((await listNetns()).includes(running[0]?.netns ?? "?"));
  });

  it("publishes both pod IPs in the Service's EndpointSlice (real endpointslice controller)", {
    timeout: 60_000,
  }, async () => {
    assert.ok(env, "control plane not started");
    const want = env.kubelet
      .pods()
      .map((p) => p.ip ?? "")
      .sort();
    const got = await waitFor(
      "EndpointSlice with both pod IPs",
      async () => {
        const ips = await sliceIps();
        return ips.join() === want.join() ? ips : undefined;
      },
      30_000,
    );
    assert.deepEqual(got, want);
  });

  it("resolves a headless Service's name inside pods to every ready pod, as cluster DNS does", {
    timeout: 60_000,
  }, async () => {
    assert.ok(env, "control plane not started");
    await core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: `${NAME}-peers` },
        spec: { clusterIP: "None", selector: { app: NAME }, ports: [{ name: "grpc", port: 8000 }] },
      },
    });
    const pods = env.kubelet.pods();
    const want = pods.map((p) => p.ip ?? "").sort();
    for (const name of [`${NAME}-peers`, `${NAME}-peers.${NS}.svc.cluster.local`]) {
      const got = await waitFor(
        `${name} to resolve to both pods`,
        async () => {
          const ips = resolvedIn(pods[0]?.netns ?? "", name);
          return ips.join() === want.join() ? ips : undefined;
        },
        30_000,
      );
      assert.deepEqual(got, want);
    }
  });

  it("lets the host dial each pod IP (grpc.health.v1 Check)", { timeout: 30_000 }, async () => {
    assert.ok(env, "control plane not started");
    for (const pod of env.kubelet.pods()) {
      assert.equal(await grpcHealthCheck(pod.ip ?? "", 8000, "", 3000), true, `health of ${pod.ip}`);
    }
  });

  it("scales to 1 through the scale subresource: one process stops and its namespace is removed", {
    timeout: 90_000,
  }, async () => {
    assert.ok(env, "control plane not started");
    const kubelet = env.kubelet;
    const before = kubelet.pods();
    const macBefore = bridgeAddresses(env.hostIp);
    // Pods cache the gateway's MAC: it must not be borrowed from a port that can go away.
    assert.equal(macBefore.ports.length, 2);
    assert.ok(!macBefore.ports.includes(macBefore.bridge), "bridge MAC is its own, not a pod veth's");
    await apps.patchNamespacedDeploymentScale(
      { name: NAME, namespace: NS, body: { spec: { replicas: 1 } } },
      MERGE,
    );
    await waitFor(
      "one pod left on the kubelet",
      () => (kubelet.pods().length === 1 ? true : undefined),
      60_000,
    );
    const [kept] = kubelet.pods();
    const gone = before.find((p) => p.uid !== kept?.uid);
    assert.ok(gone?.netns, "a pod was removed");
    for (const pid of gone.pids) assert.equal(isAlive(pid), false, `process ${pid} stopped`);
    assert.equal((await listNetns()).includes(gone.netns), false, `${gone.netns} deleted`);
    assert.equal(bridgeAddresses(env.hostIp).bridge, macBefore.bridge, "bridge MAC unchanged");
    await readyPods(1);
    await waitFor(
      "EndpointSlice with one pod IP",
      async () => ((await sliceIps()).join() === kept?.ip ? true : undefined),
      30_000,
    );
    await waitFor(
      "the headless Service's name to resolve to the kept pod only",
      async () => (resolvedIn(kept?.netns ?? "", `${NAME}-peers`).join() === kept?.ip ? true : undefined),
      30_000,
    );
  });

  it("runs a StatefulSet pod on a provisioned claim (PVC bound by the real binder)", {
    timeout: 60_000,
  }, async () => {
    assert.ok(env, "control plane not started");
    const labels = { app: "smoke-store" };
    await apps.createNamespacedStatefulSet({
      namespace: NS,
      body: {
        metadata: { name: "smoke-store" },
        spec: {
          serviceName: "smoke-store",
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: "store",
                  image: "busybox",
                  command: ["sh", "-c", "echo $(POD_NAME) > /data/owner && exec sleep 300"],
                  env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
                  volumeMounts: [{ name: "data", mountPath: "/data" }],
                },
              ],
            },
          },
          volumeClaimTemplates: [
            {
              metadata: { name: "data" },
              spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
            },
          ],
        },
      },
    });
    const claim = "data-smoke-store-0";
    await waitFor(
      "PVC bound",
      async () => {
        const pvc = await core.readNamespacedPersistentVolumeClaim({ name: claim, namespace: NS });
        return pvc.status?.phase === "Bound" ? true : undefined;
      },
      30_000,
    );
    const file = join(env.kubelet.claimDir(NS, claim), "owner");
    const owner = await waitFor(
      "the pod to write into its claim",
      () => (existsSync(file) ? readFileSync(file, "utf8").trim() : undefined),
      30_000,
    );
    assert.equal(owner, "smoke-store-0");
  });

  it("ends a restartPolicy Never pod as Succeeded after it reached the API as its ServiceAccount and a Service by name", {
    timeout: 60_000,
  }, async () => {
    assert.ok(env, "control plane not started");
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: "smoke-check" },
        spec: {
          restartPolicy: "Never",
          volumes: [{ name: "config", configMap: { name: `${NAME}-config` } }],
          containers: [
            {
              name: "check",
              image: "busybox",
              // A ConfigMap file via the rewritten mount path, then the API as the pod's ServiceAccount.
              command: [
                "sh",
                "-c",
                'test "$(cat /cfg/greeting)" = hello && kubectl auth whoami -o jsonpath={.status.userInfo.username}',
              ],
              volumeMounts: [{ name: "config", mountPath: "/cfg" }],
            },
            {
              // The Service by name (hosts file) through its ClusterIP (the service proxy).
              name: "dial",
              image: "fullstorydev/grpcurl",
              command: [
                "grpcurl",
                "-plaintext",
                "-max-time",
                "5",
                "smoke-agent:8000",
                "grpc.health.v1.Health/Check",
              ],
            },
          ],
        },
      },
    });
    const phase = await waitFor(
      "smoke-check to finish",
      async () => {
        const pod = await core.readNamespacedPod({ name: "smoke-check", namespace: NS });
        const p = pod.status?.phase;
        return p === "Succeeded" || p === "Failed" ? p : undefined;
      },
      30_000,
    );
    assert.equal(phase, "Succeeded");
    const log = readFileSync(join(env.dir, "logs", `${NS}_smoke-check_check.log`), "utf8");
    assert.match(log, /system:serviceaccount:default:default/);
    const dialled = readFileSync(join(env.dir, "logs", `${NS}_smoke-check_dial.log`), "utf8");
    assert.match(dialled, /SERVING/);
  });

  it("down stops every process it started and removes namespaces, bridge and temp dir", {
    timeout: 60_000,
  }, async () => {
    assert.ok(env, "control plane not started");
    const { dir } = env;
    const bridge = `chorus-br${env.hostIp.split(".")[2]}`;
    await down(env);
    for (const pid of started.pids) assert.equal(isAlive(pid), false, `pid ${pid} still alive`);
    const namespaces = await listNetns();
    for (const netns of started.netns)
      assert.equal(namespaces.includes(netns), false, `${netns} left behind`);
    assert.equal(await linkExists(bridge), false, `${bridge} left behind`);
    assert.equal(existsSync(dir), false, `${dir} left behind`);
    env = undefined;
  });
});
