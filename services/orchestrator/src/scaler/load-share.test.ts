import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { defaultAgents } from "@chorus/config";
import { createLogger } from "@chorus/shared";
import { down, type TestEnv, up } from "@chorus/testenv";
import { CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { Pool } from "../executor/pool.js";
import { MERGE_PATCH } from "../providers/kubernetes/client.js";
import { LOAD_ANNOTATION } from "./load-report.js";
import { LoadShare } from "./load-share.js";

const NS = "load-share";
const never = new AbortController().signal;

function orchestratorPod(name: string, instance: string): V1Pod {
  return {
    metadata: {
      name,
      labels: {
        "app.kubernetes.io/name": "chorus",
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": "orchestrator",
      },
    },
    // Bound to a node no kubelet serves: the object is all this test needs.
    spec: { nodeName: "no-such-node", containers: [{ name: "orchestrator", image: "chorus:test" }] },
  };
}

function pools(): Map<string, Pool> {
  const agent = defaultAgents[0] ?? assert.fail("no default agent");
  const pool = new Pool({ ...agent, workers: 2 }, 10);
  for (const id of ["agent-1", "agent-2"])
    pool.apply({ pool: pool.name, blockId: id, state: "RUNNING", address: "127.0.0.1:1" });
  return new Map([[pool.name, pool]]);
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await delay(50);
  }
}

describe("LoadShare on a real control plane", { timeout: 180_000 }, () => {
  let env: TestEnv;
  let core: CoreV1Api;
  const shares: LoadShare[] = [];
  const log = createLogger("load-share-test", "silent");
  const share = async (podName: string, of: Map<string, Pool>) => {
    const started = new LoadShare({ kc: env.kc, namespace: NS, podName, pools: of, reportMs: 100, log });
    await started.start();
    shares.push(started);
    return started;
  };

  before(async () => {
    env = await up();
    core = env.kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    for (const [name, instance] of [
      ["orch-a", "chorus"],
      ["orch-b", "chorus"],
      ["other-release", "elsewhere"],
    ] as const) {
      await core.createNamespacedPod({ namespace: NS, body: orchestratorPod(name, instance) });
    }
  });

  after(async () => {
    for (const started of shares) await started.close();
    if (env) await down(env);
  });

  let poolA: Pool;
  let poolB: Pool;
  let shareB: LoadShare;

  it("gives each orchestrator the tasks its peers route, and the pods they use", async () => {
    const a = pools();
    const b = pools();
    await share("orch-a", a);
    shareB = await share("orch-b", b);
    poolA = [...a.values()][0] ?? assert.fail();
    poolB = [...b.values()][0] ?? assert.fail();
    // Another release's orchestrator in the namespace is not a peer.
    await core.patchNamespacedPod(
      {
        name: "other-release",
        namespace: NS,
        body: { metadata: { annotations: { [LOAD_ANNOTATION]: '{"creative":{"tasks":50,"busy":[]}}' } } },
      },
      MERGE_PATCH,
    );
    const first = await poolA.acquire(never);
    const second = await poolA.acquire(never);
    await until("orch-b to see orch-a's 2 tasks", () => poolB.remote.tasks === 2);
    assert.deepEqual([...poolB.remote.busy].sort(), [first.id, second.id].sort());
    assert.equal(poolA.remote.tasks, 0, "orch-b routes nothing");
    poolA.release(first);
    await until("orch-b to see 1 task left", () => poolB.remote.tasks === 1);
    assert.deepEqual([...poolB.remote.busy], [second.id]);
  });

  it("forgets a peer whose pod is deleted", async () => {
    assert.equal(poolB.remote.tasks, 1);
    await core.deleteNamespacedPod({ name: "orch-a", namespace: NS, gracePeriodSeconds: 0 });
    await until("orch-b to drop orch-a's load", () => poolB.remote.tasks === 0);
  });

  it("drops every peer's load when it stops sharing", async () => {
    const d = pools();
    const poolD = [...d.values()][0] ?? assert.fail();
    await poolD.acquire(never);
    await core.createNamespacedPod({ namespace: NS, body: orchestratorPod("orch-d", "chorus") });
    await share("orch-d", d);
    await until("orch-b to see orch-d's task", () => poolB.remote.tasks === 1);
    await shareB.close();
    assert.equal(poolB.remote.tasks, 0);
    assert.equal(poolB.remote.busy.size, 0);
  });
});
