import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PodView } from "./pod-state.js";
import { nextReplicaStep, type ReplicaPlanInput } from "./replica-plan.js";

function pod(name: string, change: Partial<PodView> = {}): PodView {
  return {
    name,
    ip: undefined,
    assigned: true,
    phase: "Running",
    ready: true,
    terminating: false,
    failure: undefined,
    marked: false,
    deletionCost: 0,
    templateHash: "h",
    ...change,
  };
}

const marked = (name: string, change: Partial<PodView> = {}) =>
  pod(name, { marked: true, deletionCost: -1000, ...change });

function plan(change: Partial<ReplicaPlanInput>) {
  return nextReplicaStep({
    live: [pod("a"), pod("b")],
    doomed: new Set(),
    marking: new Set(),
    current: 2,
    intent: 2,
    ...change,
  });
}

describe("nextReplicaStep", () => {
  it("does nothing when replicas are what the scaler wants", () => {
    assert.deepEqual(plan({}), { kind: "done" });
  });

  it("raises or lowers replicas to the intent when no pod is being removed", () => {
    assert.deepEqual(plan({ intent: 4 }), { kind: "scale", replicas: 4, removing: [] });
  });

  it("marks a doomed pod first, once", () => {
    assert.deepEqual(plan({ doomed: new Set(["b"]), intent: 1 }), { kind: "mark", pods: ["b"] });
    const step = plan({ doomed: new Set(["b"]), marking: new Set(["b"]), intent: 1 });
    assert.equal(step.kind, "wait");
  });

  it("lowers replicas by the marked pods once the ReplicaSet would pick exactly them", () => {
    const step = plan({ live: [pod("a"), marked("b")], doomed: new Set(["b"]), intent: 1 });
    assert.deepEqual(step, { kind: "scale", replicas: 1, removing: ["b"] });
  });

  it("lowers first and raises later when a pod goes while more are wanted", () => {
    const step = plan({ live: [pod("a"), marked("b")], doomed: new Set(["b"]), intent: 3 });
    assert.deepEqual(step, { kind: "scale", replicas: 1, removing: ["b"] });
  });

  const waits: Array<[string, Partial<ReplicaPlanInput>, RegExp]> = [
    [
      "a kept pod is not Ready",
      { live: [pod("a", { ready: false }), marked("b")], doomed: new Set(["b"]) },
      /pods not Ready yet \(a\)/,
    ],
    [
      "the ReplicaSet is at work",
      { live: [pod("a"), marked("b")], doomed: new Set(["b"]), current: 1 },
      /removing the marked/,
    ],
    [
      "fewer replicas than live pods, from elsewhere",
      { live: [pod("a"), pod("c"), pod("d"), marked("b")], doomed: new Set(["b"]), current: 2 },
      /still removing pods/,
    ],
    [
      "a rollout mixes two ReplicaSets",
      { live: [pod("a", { templateHash: "new" }), marked("b")], doomed: new Set(["b"]) },
      /rollout/,
    ],
    [
      "a kept pod has as low a deletion cost",
      { live: [pod("a", { deletionCost: -1000 }), marked("b")], doomed: new Set(["b"]) },
      /pod-deletion-cost/,
    ],
  ];
  for (const [name, change, reason] of waits) {
    it(`waits while ${name}`, () => {
      const step = plan(change);
      assert.equal(step.kind, "wait");
      assert.match(step.kind === "wait" ? step.reason : "", reason);
    });
  }
});
