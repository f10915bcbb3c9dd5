import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1EndpointSlice, V1Pod } from "@kubernetes/client-node";
import {
  blockStateOf,
  DELETION_COST,
  DRAINING_MARK,
  endpointsByPod,
  type PodView,
  removesExactly,
  viewPod,
} from "./pod-state.js";

function pod(name: string, change: Partial<PodView> = {}): PodView {
  return {
    name,
    ip: "10.231.0.2",
    assigned: true,
    phase: "Running",
    ready: true,
    terminating: false,
    failure: undefined,
    marked: false,
    deletionCost: 0,
    templateHash: "abc",
    ...change,
  };
}

const ready = { ready: true, address: "10.231.0.2:50061" };

describe("viewPod", () => {
  it("reads readiness, the drain mark, the deletion cost and a crash loop", () => {
    const raw: V1Pod = {
      metadata: {
        name: "p",
        annotations: { [DRAINING_MARK]: "x", [DELETION_COST]: "-1000" },
        labels: { "pod-template-hash": "h" },
      },
      spec: { nodeName: "node", containers: [] },
      status: {
        phase: "Running",
        podIP: "10.231.0.9",
        conditions: [{ type: "Ready", status: "False" }],
        containerStatuses: [
          {
            name: "agent",
            image: "",
            imageID: "",
            ready: false,
            restartCount: 3,
            state: { waiting: { reason: "CrashLoopBackOff" } },
          },
        ],
      },
    };
    const view = viewPod(raw);
    assert.deepEqual(
      [view.ip, view.ready, view.marked, view.deletionCost, view.templateHash, view.failure],
      ["10.231.0.9", false, true, -1000, "h", "container agent: CrashLoopBackOff"],
    );
  });
});

describe("blockStateOf", () => {
  const cases: Array<[string, PodView, typeof ready | undefined, string]> = [
    ["Ready and a ready endpoint", pod("a"), ready, "RUNNING"],
    ["Ready but not yet an endpoint", pod("a"), undefined, "PENDING"],
    ["a ready endpoint whose pod lost readiness", pod("a", { ready: false }), ready, "PENDING"],
    ["an endpoint that is not ready", pod("a"), { ready: false, address: ready.address }, "PENDING"],
    ["crash-looping", pod("a", { failure: "CrashLoopBackOff" }), undefined, "FAILED"],
    ["marked for removal", pod("a", { marked: true }), ready, "DRAINING"],
    ["being deleted", pod("a", { terminating: true }), ready, "DRAINING"],
  ];
  for (const [name, view, endpoint, state] of cases) {
    it(`is ${state} for a pod ${name}`, () => assert.equal(blockStateOf(view, endpoint), state));
  }
});

describe("removesExactly", () => {
  const victim = pod("v", { deletionCost: -1000 });
  it("holds when marked Ready pods rank below the other Ready pods", () => {
    assert.equal(removesExactly([victim], [pod("k1"), pod("k2")]), true);
  });
  it("fails while a kept pod is not Ready: the ReplicaSet would remove it first", () => {
    assert.equal(removesExactly([victim], [pod("k1"), pod("k2", { ready: false })]), false);
  });
  it("fails while a kept pod is Pending or unscheduled", () => {
    assert.equal(removesExactly([victim], [pod("k", { phase: "Pending", ready: false })]), false);
    assert.equal(removesExactly([victim], [pod("k", { assigned: false })]), false);
  });
  it("fails before the victim's low cost is visible: a tie goes to later rules", () => {
    assert.equal(removesExactly([pod("v")], [pod("k")]), false);
  });
  it("holds for a crash-looping victim against Ready pods, cost or not", () => {
    assert.equal(removesExactly([pod("v", { ready: false })], [pod("k")]), true);
  });
});

describe("endpointsByPod", () => {
  it("indexes ready endpoints by pod with the named port, and survives a slice without endpoints", () => {
    const slices: V1EndpointSlice[] = [
      { addressType: "IPv4", endpoints: null as unknown as [], ports: [{ name: "grpc", port: 50061 }] },
      {
        addressType: "IPv4",
        ports: [
          { name: "metrics", port: 9464 },
          { name: "grpc", port: 50061 },
        ],
        endpoints: [
          { addresses: ["10.231.0.2"], conditions: { ready: true }, targetRef: { kind: "Pod", name: "a" } },
          { addresses: ["10.231.0.3"], conditions: { ready: false }, targetRef: { kind: "Pod", name: "b" } },
          {
            addresses: ["10.231.0.4"],
            conditions: { ready: true, terminating: true },
            targetRef: { kind: "Pod", name: "c" },
          },
        ],
      },
    ];
    const byPod = endpointsByPod(slices, "grpc");
    assert.deepEqual(byPod.get("a"), { ready: true, address: "10.231.0.2:50061" });
    assert.equal(byPod.get("b")?.ready, false);
    assert.equal(byPod.get("c")?.ready, false);
    assert.equal(endpointsByPod(slices, "http").get("a")?.address, undefined);
  });
});
