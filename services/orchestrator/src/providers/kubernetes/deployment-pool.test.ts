import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import { createLogger } from "@chorus/shared";
import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import { PARSL_DEFAULT_SETTINGS } from "../../scaling/index.js";
import type { BlockEvent } from "../block-event.js";
import type { PoolNotice } from "../provider.js";
import { KubePool, type PoolApi } from "./deployment-pool.js";
import { DELETION_COST, DRAINING_MARK, type EndpointView } from "./pod-state.js";

/** A PoolApi that records writes; a test feeds their effects back as watch events. */
class RecordingApi implements PoolApi {
  readonly scaled: number[] = [];
  readonly marked: string[] = [];
  async scale(replicas: number): Promise<void> {
    this.scaled.push(replicas);
  }
  async mark(pod: string): Promise<void> {
    this.marked.push(pod);
  }
}

interface PodSpec {
  ready?: boolean;
  marked?: boolean;
  crash?: boolean;
  deleting?: boolean;
}

function podObject(name: string, spec: PodSpec = {}): V1Pod {
  const annotations: Record<string, string> = spec.marked
    ? { [DRAINING_MARK]: "x", [DELETION_COST]: "-1000" }
    : {};
  return {
    metadata: {
      name,
      annotations,
      labels: { "pod-template-hash": "h" },
      ...(spec.deleting ? { deletionTimestamp: new Date() } : {}),
    },
    spec: { nodeName: "node", containers: [] },
    status: {
      phase: "Running",
      podIP: `10.0.0.${name.length}`,
      conditions: [{ type: "Ready", status: spec.ready === false ? "False" : "True" }],
      containerStatuses: spec.crash
        ? [
            {
              name: "agent",
              image: "",
              imageID: "",
              ready: false,
              restartCount: 1,
              state: { waiting: { reason: "CrashLoopBackOff" } },
            },
          ]
        : [],
    },
  };
}

function deploymentObject(replicas: number, annotations: Record<string, string> = {}): V1Deployment {
  return {
    metadata: { name: "chorus-agent-solo", annotations },
    spec: { replicas, selector: {}, template: {} },
  };
}

const open: KubePool[] = [];
afterEach(() => {
  for (const pool of open.splice(0)) pool.close();
});

function harness() {
  const api = new RecordingApi();
  const events: BlockEvent[] = [];
  const notices: PoolNotice[] = [];
  const pool = new KubePool({
    pool: "solo",
    deployment: "chorus-agent-solo",
    settings: { ...PARSL_DEFAULT_SETTINGS, min_blocks: 1, max_blocks: 4 },
    api,
    emit: (event) => events.push(event),
    notify: (notice) => notices.push(notice),
    log: createLogger("k8s-pool-test", "silent"),
  });
  open.push(pool);
  const endpoints = new Map<string, EndpointView>();
  const pods = (...names: string[]) => {
    for (const name of names) {
      pool.onPod(podObject(name), false);
      endpoints.set(name, { ready: true, address: `10.0.0.${name.length}:50061` });
    }
    pool.onEndpoints(new Map(endpoints));
  };
  const stateOf = (id: string) => events.filter((event) => event.blockId === id).at(-1)?.state;
  return { api, events, notices, pool, pods, stateOf };
}

const settle = async () => {
  for (let i = 0; i < 5; i += 1) await tick();
};

describe("KubePool", () => {
  it("reports a pod PENDING until it is Ready and a ready endpoint, then RUNNING at the endpoint's address", () => {
    const h = harness();
    h.pool.onPod(podObject("a"), false);
    assert.equal(h.stateOf("a"), "PENDING");
    h.pool.onEndpoints(new Map([["a", { ready: true, address: "10.0.0.1:50061" }]]));
    assert.deepEqual(h.events.at(-1), {
      blockId: "a",
      pool: "solo",
      state: "RUNNING",
      address: "10.0.0.1:50061",
      detail: undefined,
    });
    h.pool.onPod(podObject("a"), true);
    assert.equal(h.stateOf("a"), "CANCELLED");
  });

  it("adopts the Deployment found at start once, then stands a placeholder for each launched replica", async () => {
    const h = harness();
    h.pods("a");
    h.pool.onDeployment(deploymentObject(1));
    assert.deepEqual(h.notices[1], { kind: "resized", pool: "solo", blocks: 1, previous: 1, first: true });
    h.pool.lead(true);
    const ids = h.pool.launch(2);
    assert.deepEqual(ids, ["chorus-agent-solo/requested-1", "chorus-agent-solo/requested-2"]);
    assert.deepEqual(ids.map(h.stateOf), ["PENDING", "PENDING"]);
    await settle();
    assert.deepEqual(h.api.scaled, [3]);
    h.pool.onDeployment(deploymentObject(3));
    h.pods("bb");
    assert.equal(h.stateOf(ids[0] ?? ""), "CANCELLED", "the first placeholder gave way to the pod");
    assert.equal(h.stateOf(ids[1] ?? ""), "PENDING");
    assert.equal(h.notices.length, 2, "its own write was not taken for an outside change");
  });

  it("scales a cancelled pod away only once its mark is visible and every kept pod is Ready", async () => {
    const h = harness();
    h.pods("a", "bb", "ccc");
    h.pool.onDeployment(deploymentObject(3));
    h.pool.lead(true);
    h.pool.onPod(podObject("bb", { ready: false }), false);
    h.pool.cancel(["ccc"]);
    await settle();
    assert.deepEqual(h.api.marked, ["ccc"]);
    assert.deepEqual(h.api.scaled, [], "nothing lowered before the mark is seen");
    h.pool.onPod(podObject("ccc", { marked: true }), false);
    await settle();
    assert.deepEqual(h.api.scaled, [], "bb is not Ready: the ReplicaSet would delete it first");
    h.pool.onPod(podObject("bb"), false);
    await settle();
    assert.deepEqual(h.api.scaled, [2]);
    assert.equal(h.stateOf("ccc"), "DRAINING");
  });

  it("reports a replica count it did not write, once, and not the stale events before its own echo", async () => {
    const h = harness();
    h.pods("a");
    h.pool.onDeployment(deploymentObject(1));
    h.pool.lead(true);
    h.pool.launch(1);
    await settle();
    h.pool.onDeployment(deploymentObject(1));
    h.pool.onDeployment(deploymentObject(2));
    assert.equal(h.notices.filter((n) => n.kind === "resized").length, 1, "only the first sighting");
    h.pool.onDeployment(deploymentObject(4));
    assert.deepEqual(h.notices.at(-1), {
      kind: "resized",
      pool: "solo",
      blocks: 4,
      previous: 2,
      first: false,
    });
    h.pool.onDeployment(deploymentObject(4));
    assert.equal(h.notices.filter((n) => n.kind === "resized").length, 2);
  });

  it("as a follower mirrors the Deployment, writes nothing, and stops routing to pods the leader marked", async () => {
    const h = harness();
    h.pods("a", "bb");
    h.pool.onDeployment(deploymentObject(2));
    assert.deepEqual(h.pool.launch(1), []);
    h.pool.cancel(["a"]);
    h.pool.onPod(podObject("bb", { marked: true }), false);
    h.pool.onDeployment(deploymentObject(1));
    await settle();
    assert.deepEqual([h.api.scaled, h.api.marked], [[], []]);
    assert.equal(h.stateOf("bb"), "DRAINING");
    assert.deepEqual(h.notices.at(-1), {
      kind: "resized",
      pool: "solo",
      blocks: 1,
      previous: 2,
      first: false,
    });
  });

  it("as a new leader finishes the previous leader's scale-in of marked pods", async () => {
    const h = harness();
    h.pods("a", "bb");
    h.pool.onPod(podObject("bb", { marked: true }), false);
    h.pool.onDeployment(deploymentObject(2));
    h.pool.lead(true);
    await settle();
    assert.deepEqual(h.api.scaled, [1]);
  });

  it("as the leader frees the replica of a crash-looping pod, reporting it FAILED", async () => {
    const h = harness();
    h.pods("a", "bb");
    h.pool.onDeployment(deploymentObject(2));
    h.pool.lead(true);
    h.pool.onPod(podObject("bb", { crash: true, ready: false }), false);
    assert.equal(h.stateOf("bb"), "FAILED");
    await settle();
    assert.deepEqual(h.api.marked, ["bb"]);
    h.pool.onPod(podObject("bb", { crash: true, ready: false, marked: true }), false);
    await settle();
    assert.deepEqual(h.api.scaled, [1]);
    h.pool.onPod(podObject("bb", { crash: true, marked: true, deleting: true }), false);
    h.pool.onPod(podObject("bb"), true);
    assert.equal(
      h.events.filter((event) => event.blockId === "bb").length,
      3,
      "PENDING, RUNNING, FAILED only",
    );
  });

  it("passes on the pool's annotations as settings overrides, with warnings for bad values", () => {
    const h = harness();
    h.pool.onDeployment(deploymentObject(1, { "chorus.dev/min-blocks": "2", "chorus.dev/max-blocks": "x" }));
    const settings = h.notices.find((notice) => notice.kind === "settings");
    assert.ok(settings?.kind === "settings");
    assert.deepEqual(settings.overrides, { min_blocks: 2 });
    assert.match(settings.warnings[0] ?? "", /chorus\.dev\/max-blocks="x" ignored/);
  });
});
