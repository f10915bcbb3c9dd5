import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { ChatService } from "@chorus/proto";
import { createClient } from "@chorus/shared";
import type { RunningOrchestrator } from "./run-orchestrator.js";
import type { ScalingEvent } from "./scaler/scaling-events.js";
import { eventReason } from "./scaler/scaling-kube-event.js";
import { AGENT_PORT, type AgentCluster, DEPLOYMENT, POOL, startAgentCluster } from "./testing/k8s-cluster.js";
import { PodLedger } from "./testing/pod-ledger.js";

const BOUNDS = ["chorus.dev/min-blocks", "chorus.dev/max-blocks", "chorus.dev/strategy"];

const soon = () => ({ deadline: new Date(Date.now() + 60_000) });

/** The pool's settings in the tests that start one orchestrator in this process. */
const CHORUS_SCALING = {
  strategy: "chorus",
  init_blocks: 1,
  min_blocks: 1,
  max_blocks: 3,
  max_idletime: 3,
  strategy_period: 1,
};

async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(200);
  }
}

describe("KubernetesProvider on a real control plane", { timeout: 600_000 }, () => {
  let cluster: AgentCluster;
  let orchestrator: RunningOrchestrator;
  before(async () => {
    cluster = await startAgentCluster({ replicas: 1, ttftMs: 500 });
  });
  after(async () => {
    if (process.env.CHORUS_TEST_VERBOSE === "1")
      for (const line of cluster?.logs ?? []) console.error(JSON.stringify(line));
    await cluster?.close();
  });

  const events = (): ScalingEvent[] => [...orchestrator.events.recent()];
  const running = () =>
    [...(orchestrator.pools.get(POOL)?.blocks.values() ?? [])].filter((b) => b.state === "RUNNING").length;
  // Whatever an earlier test left (even one that failed), the next starts from the config's settings.
  const resetBounds = () =>
    cluster.kubectl("annotate", `deployment/${DEPLOYMENT}`, ...BOUNDS.map((key) => `${key}-`));
  const deploymentJson = async () =>
    JSON.parse(
      await cluster.kubectl("get", `deployment/${DEPLOYMENT}`, "-o", "json", "--show-managed-fields"),
    );

  it("turns pods into blocks addressed by their EndpointSlice IPs, and a pod answers a chat turn", async () => {
    orchestrator = await cluster.orchestrator(cluster.config(CHORUS_SCALING), "first");
    const pool = orchestrator.pools.get(POOL) ?? assert.fail("no pool");
    const [pod] = await cluster.livePods();
    const ip = pod?.status?.podIP ?? assert.fail("pod has no IP");
    const block = await until("the pod as a RUNNING block", () =>
      [...pool.blocks.values()].find((b) => b.state === "RUNNING"),
    );
    assert.equal(block.id, pod?.metadata?.name);
    assert.equal(block.address, `${ip}:${AGENT_PORT}`);
    const chat = createClient(ChatService, orchestrator.address);
    const reply = await chat.chat({ message: "hello from the cluster test" }, soon());
    chat.close();
    assert.equal(reply.agentAnswers[0]?.ok, true, reply.agentAnswers[0]?.error);
    assert.equal(reply.agentAnswers[0]?.replica, `${ip}:${AGENT_PORT}`);
  });

  it("scales out under a load step through the scale subresource; new pods become Ready and take tasks", async () => {
    const chat = createClient(ChatService, orchestrator.address);
    const turns = Array.from({ length: 40 }, (_, i) => chat.chat({ message: `load ${i}` }, soon()));
    const peak = await until("replicas patched to max_blocks 3", async () => {
      const deployment = await deploymentJson();
      return deployment.spec.replicas === 3 ? deployment : undefined;
    });
    const managers = (peak.metadata.managedFields ?? []) as Array<{ manager: string; subresource?: string }>;
    assert.ok(
      managers.some((m) => m.manager === "chorus-orchestrator" && m.subresource === "scale"),
      `replicas written through deployments/scale by chorus-orchestrator: ${JSON.stringify(managers)}`,
    );
    const replies = await Promise.all(turns);
    chat.close();
    for (const reply of replies) {
      assert.equal(reply.agentAnswers[0]?.ok, true, reply.agentAnswers[0]?.error);
      assert.equal(reply.agentAnswers[0]?.attempts, 1);
    }
    const pods = await cluster.livePods();
    const podAddresses = new Set(pods.map((pod) => `${pod.status?.podIP}:${AGENT_PORT}`));
    const answeredBy = new Set(replies.map((reply) => reply.agentAnswers[0]?.replica ?? ""));
    assert.ok(answeredBy.size >= 2, `new pods received tasks: ${[...answeredBy]}`);
    for (const address of answeredBy) assert.ok(podAddresses.has(address), `${address} is a pod of the pool`);
    const reasons = events().map((event) => event.reason);
    assert.ok(reasons.includes("admission") || reasons.includes("scale_out"), `events: ${reasons}`);
  });

  it("scales in after the load by marking idle pods, and the ReplicaSet deletes exactly those", async () => {
    const seen = events().length;
    const ledger = new PodLedger(cluster.env.kc, cluster.namespace, `chorus.dev/pool=${POOL}`);
    await ledger.start();
    const chat = createClient(ChatService, orchestrator.address);
    const trickle: Array<Awaited<ReturnType<typeof chat.chat>>> = [];
    // A trickle of turns during the scale-in: none may fail or be retried.
    const stop = new AbortController();
    const sender = (async () => {
      while (!stop.signal.aborted) {
        trickle.push(await chat.chat({ message: `trickle ${trickle.length}` }, soon()));
        await delay(300);
      }
    })();
    await until("back to min_blocks 1", async () => {
      const live = await cluster.livePods();
      return (await cluster.replicas()) === 1 && live.length === 1 ? true : undefined;
    });
    stop.abort();
    await sender;
    chat.close();
    await delay(500);
    await ledger.stop();
    const marked = ledger.names((pod) => pod.marked);
    const deleted = ledger.names((pod) => pod.deleted);
    assert.equal(marked.length, 2, `two pods marked: ${JSON.stringify([...ledger.pods])}`);
    assert.deepEqual(deleted, marked, "the ReplicaSet deleted exactly the marked pods");
    for (const name of marked) assert.equal(ledger.pods.get(name)?.cost, "-1000");
    for (const reply of trickle) {
      assert.equal(reply.agentAnswers[0]?.ok, true, reply.agentAnswers[0]?.error);
      assert.equal(reply.agentAnswers[0]?.attempts, 1);
    }
    const scaledIn = events()
      .slice(seen)
      .filter((event) => event.reason === "scale_in")
      .flatMap((event) => event.blockIds);
    assert.deepEqual([...scaledIn].sort(), marked, "the marked pods are the ones the scaler chose");
  });

  it("explains each scale-out and scale-in in an Event on the Deployment, read by the client and kubectl describe", async () => {
    const detail = orchestrator.leadership.status().detail;
    const identity = /^leader \(([^,]+),/.exec(detail)?.[1] ?? assert.fail(`not the leader: ${detail}`);
    const changes = events().filter((e) => ["admission", "scale_out", "scale_in"].includes(e.reason));
    assert.ok(changes.some((e) => e.reason !== "scale_in") && changes.some((e) => e.reason === "scale_in"));
    const deployment = await cluster.apps.readNamespacedDeployment({
      name: DEPLOYMENT,
      namespace: cluster.namespace,
    });
    const written = await until("an Event for every change", async () => {
      const { items } = await cluster.core.listNamespacedEvent({
        namespace: cluster.namespace,
        fieldSelector: `involvedObject.name=${DEPLOYMENT},source=chorus-orchestrator`,
      });
      return changes.every((e) => items.some((item) => item.reason === eventReason(e.reason)))
        ? items
        : undefined;
    });
    const describe = await cluster.kubectl("describe", `deployment/${DEPLOYMENT}`);
    for (const change of changes) {
      const words = change.reason.replace("_", " ");
      const head = `${words}: ${change.blocksBefore} -> ${change.blocksAfter} blocks (`;
      const event = written.find(
        (e) => e.reason === eventReason(change.reason) && e.message?.startsWith(head),
      );
      assert.ok(event, `an Event saying "${head}": ${JSON.stringify(written.map((e) => e.message))}`);
      assert.match(event.message ?? "", /\(\d+ tasks, \d+ slots, strategy chorus\): \S/);
      assert.deepEqual(
        [event.type, event.involvedObject.kind, event.involvedObject.uid, event.reportingInstance],
        ["Normal", "Deployment", deployment.metadata?.uid, identity],
      );
      const line = new RegExp(
        `Normal\\s+${event.reason}\\s+.*chorus-orchestrator\\s+${words}: ${change.blocksBefore} -> ${change.blocksAfter} blocks \\(`,
      );
      assert.match(describe, line);
    }
  });

  it("answers WatchScaling on a follower with the leader's events, replayed and live; only the leader writes Events", async () => {
    const identity = /^leader \(([^,]+),/.exec(orchestrator.leadership.status().detail)?.[1];
    const follower = await cluster.orchestrator(cluster.config(CHORUS_SCALING), "follower");
    assert.match(follower.leadership.status().detail, /^follower/);
    const replay = async (of: RunningOrchestrator) => {
      const client = createClient(ChatService, of.address);
      try {
        const seen: string[] = [];
        for await (const e of client.watchScaling({ pool: POOL, replayOnly: true }, soon()))
          seen.push(
            `${e.timestampMs} ${e.reason} ${e.blocksBefore}->${e.blocksAfter} ${e.blockIds} ${e.detail}`,
          );
        return seen;
      } finally {
        client.close();
      }
    };
    const same = await until("the follower's replay equal to the leader's", async () => {
      const [leader, mirrored] = [await replay(orchestrator), await replay(follower)];
      return JSON.stringify(leader) === JSON.stringify(mirrored) ? leader : undefined;
    });
    assert.ok(
      same.some((line) => / scale_in /.test(line)),
      `the scale-in is among them: ${same}`,
    );
    const client = createClient(ChatService, follower.address);
    const stop = new AbortController();
    const live: string[] = [];
    const watching = (async () => {
      const stream = client.watchScaling(
        { pool: POOL, replayOnly: false },
        { ...soon(), signal: stop.signal },
      );
      for await (const e of stream) live.push(`${e.reason} ${e.blocksBefore}->${e.blocksAfter} ${e.detail}`);
    })().catch(() => undefined);
    await delay(500);
    // The follower hands the count to the Deployment; the leader adopts it and says so.
    follower.scaler.scale(POOL, 2);
    await until(
      "the leader's adoption on the follower's stream",
      () => live.find((line) => /^manual 1->2 scaled to 2 outside Chorus: adopted/.test(line)),
      10_000,
    );
    stop.abort();
    await watching;
    client.close();
    const { items } = await cluster.core.listNamespacedEvent({
      namespace: cluster.namespace,
      fieldSelector: "source=chorus-orchestrator",
    });
    assert.deepEqual(
      [...new Set(items.map((event) => event.reportingInstance))],
      [identity],
      "the follower wrote no Event, not even for the count it sent",
    );
    await follower.close();
    orchestrator.scaler.scale(POOL, 1);
    await until("back to one replica", async () => ((await cluster.replicas()) === 1 ? true : undefined));
  });

  it("follows kubectl scale with strategy none (set live by annotation)", async () => {
    await resetBounds();
    await cluster.kubectl("annotate", `deployment/${DEPLOYMENT}`, "chorus.dev/strategy=none");
    await until("strategy none applied", () => orchestrator.scaler.pool(POOL)?.settings.strategy === "none");
    await cluster.kubectl("scale", `deployment/${DEPLOYMENT}`, "--replicas=2");
    await until("two RUNNING blocks", () => running() === 2);
    await delay(3000);
    assert.equal(await cluster.replicas(), 2, "Chorus keeps what kubectl set");
    assert.equal(running(), 2);
    const follow = events().find(
      (event) => event.reason === "manual" && /strategy none follows/.test(event.detail),
    );
    assert.ok(follow, `events: ${JSON.stringify(events())}`);
    await cluster.kubectl("scale", `deployment/${DEPLOYMENT}`, "--replicas=1");
    await until("one block", () => running() === 1 && orchestrator.pools.get(POOL)?.blocks.size === 1);
    await delay(2000);
    assert.equal(await cluster.replicas(), 1);
  });

  it("adopts a kubectl scale under the chorus strategy as a manual event, clamped to max_blocks", async () => {
    await resetBounds();
    await until(
      "strategy chorus again",
      () => orchestrator.scaler.pool(POOL)?.settings.strategy === "chorus",
    );
    const before = events().length;
    await cluster.kubectl("scale", `deployment/${DEPLOYMENT}`, "--replicas=5");
    const adopted = await until("a manual scaling event", () =>
      events()
        .slice(before)
        .find((event) => event.reason === "manual"),
    );
    assert.match(adopted.detail, /scaled to 5 outside Chorus: adopted .*clamped to 3/);
    assert.equal(adopted.blocksAfter, 3);
    await until("replicas patched back to 3", async () =>
      (await cluster.replicas()) === 3 ? true : undefined,
    );
    await until("three RUNNING blocks", () => running() === 3);
  });

  it("applies chorus.dev/min-blocks and max-blocks within a strategy period and ignores bad values, naming them", async () => {
    await resetBounds();
    await until("scaled in to 1 after the adoption", async () =>
      (await cluster.replicas()) === 1 ? true : undefined,
    );
    const started = Date.now();
    await cluster.kubectl("annotate", `deployment/${DEPLOYMENT}`, "chorus.dev/min-blocks=2");
    await until("replicas raised to min-blocks 2", async () =>
      (await cluster.replicas()) === 2 ? true : undefined,
    );
    assert.ok(Date.now() - started < 1000 + 3000, "within one strategy period (1 s) plus API latency");
    await cluster.kubectl(
      "annotate",
      "--overwrite",
      `deployment/${DEPLOYMENT}`,
      "chorus.dev/max-blocks=lots",
    );
    await until("a warning naming chorus.dev/max-blocks", () =>
      cluster.logs.find(
        (line) => line.level === 40 && /chorus\.dev\/max-blocks="lots" ignored/.test(String(line.msg)),
      ),
    );
    assert.equal(orchestrator.scaler.pool(POOL)?.settings.max_blocks, 3, "max_blocks unchanged");
    assert.equal(orchestrator.scaler.pool(POOL)?.settings.min_blocks, 2, "min-blocks still applies");
    await until("two RUNNING blocks", () => running() === 2);
    const lowered = Date.now();
    const args = ["annotate", "--overwrite", `deployment/${DEPLOYMENT}`, "chorus.dev/min-blocks-"];
    await cluster.kubectl(...args, "chorus.dev/max-blocks=1");
    await until("the surplus pod drained and removed", async () =>
      (await cluster.replicas()) === 1 ? true : undefined,
    );
    assert.ok(Date.now() - lowered < 1000 + 3000, "a lower max-blocks takes effect within a strategy period");
    await cluster.kubectl("annotate", `deployment/${DEPLOYMENT}`, "chorus.dev/max-blocks-");
    await until("config bounds again", () => orchestrator.scaler.pool(POOL)?.settings.max_blocks === 3);
  });

  it("replaces a pod whose agent is killed under load; its turns succeed elsewhere", async () => {
    await resetBounds();
    await cluster.kubectl("annotate", "--overwrite", `deployment/${DEPLOYMENT}`, "chorus.dev/min-blocks=2");
    await until("two RUNNING blocks", () => running() === 2);
    const ledger = new PodLedger(cluster.env.kc, cluster.namespace, `chorus.dev/pool=${POOL}`);
    await ledger.start();
    const seen = events().length;
    const chat = createClient(ChatService, orchestrator.address);
    const turns = Array.from({ length: 8 }, (_, i) => chat.chat({ message: `kill ${i}` }, soon()));
    const pool = orchestrator.pools.get(POOL) ?? assert.fail("no pool");
    const busy = await until("a block with tasks in flight", () =>
      [...pool.blocks.values()].find((b) => b.state === "RUNNING" && b.inFlight > 0),
    );
    const victim =
      cluster.env.kubelet.pods().find((p) => p.name === busy.id) ?? assert.fail("pod not on the kubelet");
    for (const pid of victim.pids) process.kill(pid, "SIGKILL");
    const replies = await Promise.all(turns);
    chat.close();
    for (const reply of replies) assert.equal(reply.agentAnswers[0]?.ok, true, reply.agentAnswers[0]?.error);
    assert.ok(
      replies.some((reply) => (reply.agentAnswers[0]?.attempts ?? 0) > 1),
      "a turn in flight on the killed pod was retried on the other one",
    );
    const failed = await until("a block_failed event for the pod", () =>
      events()
        .slice(seen)
        .find((event) => event.reason === "block_failed"),
    );
    assert.deepEqual(failed.blockIds, [busy.id]);
    await until("the failed pod removed and two RUNNING blocks again", async () => {
      const names = (await cluster.livePods()).map((p) => p.metadata?.name);
      return !names.includes(busy.id) && running() === 2 ? true : undefined;
    });
    await ledger.stop();
    const deleted = ledger.names((p) => p.deleted);
    assert.ok(deleted.includes(busy.id), `the failed pod was deleted: ${deleted}`);
    const marked = ledger.names((p) => p.marked);
    for (const name of deleted) assert.ok(marked.includes(name), `${name} was deleted without a Chorus mark`);
    await cluster.kubectl("annotate", `deployment/${DEPLOYMENT}`, "chorus.dev/min-blocks-");
  });

  it("elects one leader among orchestrator processes; when it is killed the other scales within the lease time", async () => {
    await orchestrator.close();
    await resetBounds();
    const lease = { lease_duration_seconds: 6, renew_deadline_seconds: 4, retry_period_seconds: 1 };
    const raw = cluster.rawConfig(
      {
        strategy: "chorus",
        init_blocks: 1,
        min_blocks: 1,
        max_blocks: 3,
        max_idletime: 3,
        strategy_period: 1,
      },
      lease,
    );
    const processes = [
      await cluster.orchestratorProcess(raw, "a"),
      await cluster.orchestratorProcess(raw, "b"),
    ];
    const roles = async () =>
      Promise.all(
        processes.map(async (started) => {
          const client = createClient(ChatService, started.address);
          try {
            const status = await client.getStatus({}, soon());
            return status.components.find((component) => component.name === "scaler")?.detail ?? "";
          } finally {
            client.close();
          }
        }),
      );
    const detail = await until("one leader and one follower", async () => {
      const found = await roles();
      const leaders = found.filter((role) => role.startsWith("leader"));
      return leaders.length === 1 && found.some((role) => role.startsWith("follower")) ? found : undefined;
    });
    const leaderIndex = detail.findIndex((role) => role.startsWith("leader"));
    const leader = processes[leaderIndex] ?? assert.fail("no leader");
    const follower = processes[1 - leaderIndex] ?? assert.fail("no follower");
    await until("the leader back at min_blocks 1", async () =>
      (await cluster.replicas()) === 1 ? true : undefined,
    );
    const killedAt = Date.now();
    await leader.stop("SIGKILL");
    await cluster.kubectl("annotate", "--overwrite", `deployment/${DEPLOYMENT}`, "chorus.dev/min-blocks=2");
    await until("the survivor raising replicas to min-blocks 2", async () =>
      (await cluster.replicas()) === 2 ? true : undefined,
    );
    const tookMs = Date.now() - killedAt;
    const leaseMs = lease.lease_duration_seconds * 1000;
    assert.ok(
      tookMs < leaseMs + 5000,
      `scaled ${tookMs} ms after the kill, within the lease time (+ period)`,
    );
    assert.ok(
      tookMs > leaseMs / 2,
      `scaled ${tookMs} ms after the kill: only once the unreleased lease lapsed`,
    );
    const [survivor] = await (async () => {
      const client = createClient(ChatService, follower.address);
      try {
        const status = await client.getStatus({}, soon());
        return [status.components.find((component) => component.name === "scaler")?.detail ?? ""];
      } finally {
        client.close();
      }
    })();
    assert.match(survivor ?? "", /^leader/);
    await follower.stop("SIGTERM");
    await cluster.kubectl("annotate", `deployment/${DEPLOYMENT}`, "chorus.dev/min-blocks-");
  });
});
