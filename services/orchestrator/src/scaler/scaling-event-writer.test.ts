import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { createLogger } from "@chorus/shared";
import { ApiException, type CoreV1Event } from "@kubernetes/client-node";
import { type EventApi, ScalingEventWriter } from "./scaling-event-writer.js";
import type { ScalingEvent } from "./scaling-events.js";
import { CARRIED_ANNOTATION, decodeCarried } from "./scaling-kube-event.js";

/** An EventApi that keeps what it was sent; `expired` names Events a patch finds gone (404). */
class FakeEventApi implements EventApi {
  readonly created: CoreV1Event[] = [];
  readonly patches: Array<{ name: string; patch: Record<string, unknown>; atMs: number }> = [];
  readonly expired = new Set<string>();
  readonly writesAtMs: number[] = [];

  async create(event: CoreV1Event): Promise<unknown> {
    this.writesAtMs.push(Date.now());
    this.created.push(event);
    return event;
  }

  async patch(name: string, patch: object): Promise<unknown> {
    this.writesAtMs.push(Date.now());
    if (this.expired.has(name)) throw new ApiException(404, "not found", "{}", {});
    this.patches.push({ name, patch: patch as Record<string, unknown>, atMs: Date.now() });
    return patch;
  }
}

function change(reason: ScalingEvent["reason"], before: number, after: number, tasks = 4): ScalingEvent {
  return {
    timeMs: Date.now(),
    pool: "creative",
    blocksBefore: before,
    blocksAfter: after,
    reason,
    tasks,
    slots: before * 2,
    strategy: "chorus",
    detail: `${tasks} tasks`,
    blockIds: [],
  };
}

const open: ScalingEventWriter[] = [];
afterEach(async () => {
  for (const writer of open.splice(0)) await writer.close();
});

function harness(intervalMs: number) {
  const api = new FakeEventApi();
  const writer = new ScalingEventWriter({
    api,
    namespace: "chorus",
    identity: "orchestrator-0_abcd",
    deploymentOf: (pool) => ({ name: `chorus-agent-${pool}`, uid: "uid-1" }),
    log: createLogger("event-writer-test", "silent"),
    intervalMs,
  });
  open.push(writer);
  return { api, writer };
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await delay(5);
  }
}

describe("ScalingEventWriter", () => {
  it("writes a lone decision at once as an Event on the pool's Deployment, from chorus-orchestrator", async () => {
    const { api, writer } = harness(10_000);
    const id = writer.record(change("scale_out", 1, 3, 12));
    await until("one Event", () => api.created.length === 1);
    const event = api.created[0] ?? assert.fail("no Event");
    assert.deepEqual(event.involvedObject, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: "chorus",
      name: "chorus-agent-creative",
      uid: "uid-1",
    });
    assert.equal(event.reason, "ScaleOut");
    assert.equal(event.type, "Normal");
    assert.match(event.message ?? "", /^scale out: 1 -> 3 blocks \(12 tasks, 2 slots, strategy chorus\)/);
    assert.equal(event.source?.component, "chorus-orchestrator");
    assert.equal(event.reportingComponent, "chorus-orchestrator");
    assert.equal(event.reportingInstance, "orchestrator-0_abcd");
    assert.equal(event.count, 1);
    const carried = decodeCarried(event.metadata.annotations?.[CARRIED_ANNOTATION]);
    assert.deepEqual(
      carried.map((c) => c.id),
      [id],
    );
  });

  it("aggregates repeats of one change into its Event (count, message, carried) instead of creating more", async () => {
    const { api, writer } = harness(20);
    writer.record(change("scale_out", 1, 2, 3));
    await until("the first Event", () => api.created.length === 1);
    writer.record(change("scale_out", 1, 2, 5));
    await until("a patch", () => api.patches.length === 1);
    writer.record(change("scale_out", 1, 2, 7));
    await until("a second patch", () => api.patches.length === 2);
    assert.equal(api.created.length, 1, "one Event for three repeats");
    const last = api.patches[1] ?? assert.fail("no patch");
    assert.equal(last.name, api.created[0]?.metadata.name);
    assert.equal(last.patch.count, 3);
    assert.match(String(last.patch.message), /\(7 tasks/);
    const annotations = (last.patch.metadata as { annotations: Record<string, string> }).annotations;
    assert.equal(decodeCarried(annotations[CARRIED_ANNOTATION]).length, 3);
  });

  it("bounds a flapping pool: one round per interval, two writes a round, two Events in all", async () => {
    const intervalMs = 100;
    const { api, writer } = harness(intervalMs);
    const started = Date.now();
    // 100 flaps, one every 5 ms: without a bound, 100 writes.
    for (let i = 0; i < 100; i += 1) {
      writer.record(i % 2 === 0 ? change("scale_out", 1, 2) : change("scale_in", 2, 1));
      await delay(5);
    }
    await delay(3 * intervalMs);
    const rounds = Math.ceil((Date.now() - started) / intervalMs) + 1;
    assert.equal(api.created.length, 2, "one Event per change, repeats aggregated");
    assert.ok(api.writesAtMs.length <= 2 * rounds, `${api.writesAtMs.length} writes in ${rounds} rounds`);
    const counts = new Map<string, number>();
    for (const event of api.created) counts.set(event.metadata.name ?? "", event.count ?? 0);
    for (const { name, patch } of api.patches) counts.set(name, Number(patch.count));
    assert.equal(
      [...counts.values()].reduce((a, b) => a + b, 0),
      100,
      "every decision is counted",
    );
  });

  it("writes at most four different changes in one round and the rest in the next", async () => {
    const { api, writer } = harness(300);
    writer.record(change("init", 0, 1));
    await until("the first round", () => api.created.length === 1);
    for (let after = 2; after <= 7; after += 1) writer.record(change("admission", after - 1, after));
    await delay(100);
    assert.equal(api.created.length, 1, "nothing before the interval has passed");
    await until("a round", () => api.created.length >= 5);
    await delay(100);
    assert.equal(api.created.length, 5, "four changes in one round");
    await until("the next round", () => api.created.length === 7);
  });

  it("starts a new Event when the one it would patch has expired", async () => {
    const { api, writer } = harness(10);
    writer.record(change("scale_in", 3, 2));
    await until("an Event", () => api.created.length === 1);
    api.expired.add(api.created[0]?.metadata.name ?? "");
    writer.record(change("scale_in", 3, 2));
    await until("a new Event", () => api.created.length === 2);
    assert.equal(api.created[1]?.count, 1);
    assert.notEqual(api.created[1]?.metadata.name, api.created[0]?.metadata.name);
  });
});
