import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { ChatService } from "@chorus/proto";
import { createClient, type PromiseClient } from "@chorus/shared";
import { down, REPO_ROOT, type TestEnv, up } from "@chorus/testenv";
import { AppsV1Api, CoordinationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { stringify } from "yaml";

const CHART_DIR = join(REPO_ROOT, "charts/chorus");
const NS = "chorus-e2e";
const RELEASE = "chorus";
const SA = `system:serviceaccount:${NS}:${RELEASE}-orchestrator`;
const POOL = `${RELEASE}-agent-creative`;

const values = {
  orchestrator: { replicas: 2 },
  config: {
    orchestrator: { turn_timeout_ms: 60_000 },
    // The test kubelet shares two cores with everything else; give history writes room.
    history: { timeout_ms: 20_000 },
    provider: {
      kubernetes: { lease_duration_seconds: 6, renew_deadline_seconds: 4, retry_period_seconds: 1 },
    },
    simulator: { ttft_ms: 600, ttft_std_ms: 50, itl_ms: 5, itl_std_ms: 1, tokens: 12 },
    agents: [
      {
        name: "creative",
        temperature: 0.8,
        max_tokens: 200,
        system_prompt: "You are a creative assistant.",
        workers: 2,
        scaling: {
          strategy: "chorus",
          init_blocks: 1,
          min_blocks: 1,
          max_blocks: 3,
          parallelism: 1,
          max_idletime: 4,
          strategy_period: 1,
        },
      },
      {
        name: "analytical",
        temperature: 0.3,
        max_tokens: 200,
        system_prompt: "You are an analytical assistant.",
        workers: 4,
        replicas: 1,
      },
      {
        name: "balanced",
        temperature: 0.7,
        max_tokens: 200,
        system_prompt: "You are a balanced assistant.",
        workers: 4,
        replicas: 1,
      },
    ],
  },
};

async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 90_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    await delay(250);
  }
  return assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

describe("helm install into a real control plane", { timeout: 600_000 }, () => {
  let env: TestEnv;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  let chat: PromiseClient<typeof ChatService>;
  let address: string;
  const tool = (name: "kubectl" | "helm" | "grpcurl", args: string[], timeoutMs = 60_000) =>
    env.tool(name, args, { timeoutMs });
  /** The Lease holder's identity, "" while nobody holds it. */
  const leaseHolder = async () =>
    (
      await env.kc
        .makeApiClient(CoordinationV1Api)
        .readNamespacedLease({ name: `${RELEASE}-orchestrator`, namespace: NS })
    ).spec?.holderIdentity ?? "";
  // The holder identity starts with the pod name (a suffix keeps restarted processes apart).
  const podOf = (identity: string) => identity.split("_")[0] ?? identity;
  const leaderPod = async () =>
    podOf(await eventually("a leader", async () => (await leaseHolder()) || undefined));
  const annotateBounds = (min: number, max: number) =>
    tool("kubectl", [
      "-n",
      NS,
      "annotate",
      `deployment/${POOL}`,
      "--overwrite",
      `chorus.dev/min-blocks=${min}`,
      `chorus.dev/max-blocks=${max}`,
    ]);
  const leaderAddress = async () => {
    const pod = await core.readNamespacedPod({ name: await leaderPod(), namespace: NS });
    return `${pod.status?.podIP}:50051`;
  };
  const followerAddress = async () => {
    const leader = await leaderPod();
    const pods = await core.listNamespacedPod({
      namespace: NS,
      labelSelector: "app.kubernetes.io/component=orchestrator",
    });
    const follower = pods.items.find(
      (p) => p.metadata?.name !== leader && !p.metadata?.deletionTimestamp && p.status?.podIP,
    );
    return `${follower?.status?.podIP ?? assert.fail("no follower orchestrator pod")}:50051`;
  };
  const replicas = async () =>
    (await apps.readNamespacedDeployment({ name: POOL, namespace: NS })).spec?.replicas ?? -1;

  before(async () => {
    // Kubelet messages (pod starts, probe restarts) explain a failure here; they are few.
    env = await up({ log: (message) => process.stderr.write(`# testenv: ${message}\n`) });
    apps = env.kc.makeApiClient(AppsV1Api);
    core = env.kc.makeApiClient(CoreV1Api);
    const file = join(env.dir, "values.yaml");
    writeFileSync(file, stringify(values));
    const lint = await tool("helm", ["lint", "--strict", CHART_DIR, "-f", file]);
    assert.equal(lint.code, 0, lint.stdout + lint.stderr);
    const install = await tool(
      "helm",
      [
        "install",
        RELEASE,
        CHART_DIR,
        "-n",
        NS,
        "--create-namespace",
        "-f",
        file,
        "--wait",
        "--timeout",
        "4m",
      ],
      300_000,
    );
    assert.equal(install.code, 0, install.stdout + install.stderr);
    const service = await core.readNamespacedService({ name: `${RELEASE}-orchestrator`, namespace: NS });
    address = `${service.spec?.clusterIP}:50051`;
    chat = createClient(ChatService, address);
  });

  after(async () => {
    chat?.close();
    if (env) await down(env);
  });

  it("passes helm test: every service answers its health check", async () => {
    const result = await tool("helm", ["test", RELEASE, "-n", NS, "--timeout", "2m"], 180_000);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /Phase:\s+Succeeded/);
  });

  it("answers a chat sent with grpcurl (reflection only) with three agents running in pods", async () => {
    const result = await tool("grpcurl", [
      "-plaintext",
      "-d",
      '{"message":"Hello from grpcurl"}',
      address,
      "chorus.v1.ChatService/Chat",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const response = JSON.parse(result.stdout) as {
      agentAnswers: Array<{ agent: string; ok: boolean; replica: string }>;
    };
    assert.deepEqual(
      response.agentAnswers.map((a) => a.agent),
      ["creative", "analytical", "balanced"],
    );
    for (const answer of response.agentAnswers) {
      assert.equal(answer.ok, true);
      assert.match(answer.replica, new RegExp(`^${env.podCidr.split(".").slice(0, 3).join("\\.")}\\.`));
    }
  });

  it("scales the pool out under load sent to a follower, then back in removing only idle pods", async () => {
    // Only the Lease holder scales; the follower that routes this load publishes it on its pod
    // (chorus.dev/load) and the leader scales on it.
    const followerChat = createClient(ChatService, await followerAddress());
    const turns = Array.from({ length: 24 }, (_, i) =>
      followerChat.chat(
        { message: `load ${i}`, agents: ["creative"] },
        { deadline: new Date(Date.now() + 120_000) },
      ),
    );
    const leaderChat = createClient(ChatService, await leaderAddress());
    const remote = await eventually("the leader to see the follower's tasks", async () => {
      const { pools } = await leaderChat.getStatus({}, { deadline: new Date(Date.now() + 5000) });
      const tasks = pools.find((p) => p.agent === "creative")?.remoteTasks ?? 0;
      return tasks > 0 ? tasks : undefined;
    }).finally(() => leaderChat.close());
    assert.ok(remote <= turns.length);
    await eventually(
      "replicas patched above 1",
      async () => ((await replicas()) > 1 ? true : undefined),
      60_000,
    );
    const responses = await Promise.all(turns).finally(() => followerChat.close());
    assert.ok(
      responses.every((r) => r.agentAnswers[0]?.ok),
      "no turn failed",
    );
    const servedBy = new Set(responses.map((r) => r.agentAnswers[0]?.replica));
    assert.ok(servedBy.size > 1, `new pods received tasks (served by ${[...servedBy].join(", ")})`);
    await eventually(
      "scale-in back to min_blocks",
      async () => ((await replicas()) === 1 ? true : undefined),
      90_000,
    );
    const after = (
      await core.listNamespacedPod({ namespace: NS, labelSelector: "chorus.dev/pool=creative" })
    ).items.filter((p) => !p.metadata?.deletionTimestamp);
    // Scale-in came after the load, choosing idle pods only: no turn above failed or was retried.
    assert.equal(after.length, 1);
    assert.ok(
      responses.every((r) => r.agentAnswers[0]?.attempts === 1),
      "no task was retried",
    );
  });

  it("adopts a kubectl scale as a manual event and honours kubectl annotate bounds", async () => {
    const scaled = await tool("kubectl", ["-n", NS, "scale", `deployment/${POOL}`, "--replicas=2"]);
    assert.equal(scaled.code, 0, scaled.stderr);
    const leaderChat = createClient(ChatService, await leaderAddress());
    await eventually("a manual scaling event", async () => {
      const seen: string[] = [];
      for await (const e of leaderChat.watchScaling(
        { pool: "creative", replayOnly: true },
        { deadline: new Date(Date.now() + 10_000) },
      )) {
        seen.push(e.reason);
      }
      return seen.includes("manual") ? true : undefined;
    });
    leaderChat.close();
    const annotated = await annotateBounds(3, 3);
    assert.equal(annotated.code, 0, annotated.stderr);
    await eventually(
      "min-blocks=3 applied",
      async () => ((await replicas()) === 3 ? true : undefined),
      30_000,
    );
    await annotateBounds(1, 3);
  });

  it("lets the other orchestrator scale within the lease time when the leader dies", async () => {
    const leader = await eventually("a leader", async () => (await leaseHolder()) || undefined);
    const deleted = await tool("kubectl", [
      "-n",
      NS,
      "delete",
      "pod",
      podOf(leader),
      "--grace-period=0",
      "--force",
      "--wait=false",
    ]);
    assert.equal(deleted.code, 0, deleted.stderr);
    await eventually(
      "a new leader",
      async () => {
        const now = await leaseHolder();
        return now && now !== leader ? now : undefined;
      },
      30_000,
    );
    const annotated = await tool("kubectl", [
      "-n",
      NS,
      "annotate",
      `deployment/${POOL}`,
      "--overwrite",
      "chorus.dev/min-blocks=2",
    ]);
    assert.equal(annotated.code, 0, annotated.stderr);
    await eventually(
      "the new leader scales",
      async () => ((await replicas()) >= 2 ? true : undefined),
      30_000,
    );
  });

  const rbac: Array<[string, string[], "yes" | "no"]> = [
    ["get deployments", ["get", "deployments"], "yes"],
    ["watch pods", ["watch", "pods"], "yes"],
    ["patch pods", ["patch", "pods"], "yes"],
    ["list endpointslices", ["list", "endpointslices.discovery.k8s.io"], "yes"],
    ["patch a pool's scale", ["patch", `deployments/${POOL}`, "--subresource=scale"], "yes"],
    ["delete deployments", ["delete", "deployments"], "no"],
    ["read secrets", ["get", "secrets"], "no"],
    ["create deployments", ["create", "deployments"], "no"],
    ["list pods in another namespace", ["list", "pods", "-n", "default"], "no"],
    ["list nodes", ["list", "nodes"], "no"],
  ];
  for (const [what, args, expected] of rbac) {
    it(`RBAC: the orchestrator may ${expected === "no" ? "not " : ""}${what}`, async () => {
      const namespace = args.includes("-n") ? [] : ["-n", NS];
      const result = await tool("kubectl", ["auth", "can-i", ...args, ...namespace, `--as=${SA}`]);
      assert.equal(result.stdout.trim(), expected, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
    });
  }
});
