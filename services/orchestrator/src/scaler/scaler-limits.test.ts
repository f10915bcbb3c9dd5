import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { type AgentConfig, defaultAgents, type ScalingSettings } from "@chorus/config";
import { createLogger } from "@chorus/shared";
import { Pool } from "../executor/pool.js";
import { FakeProvider } from "../testing/fake-provider.js";
import { Scaler } from "./scaler.js";
import { type ScalingEvent, ScalingEvents } from "./scaling-events.js";

const never = new AbortController().signal;
const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Pools of 2-worker blocks (chorus, 1 init block, 0..4) on one FakeProvider, with an hour-long period. */
function mesh(names: readonly string[], scaling: Partial<ScalingSettings> = {}) {
  const base = defaultAgents[0] ?? assert.fail("no default agent");
  const settings = {
    ...base.scaling,
    init_blocks: 1,
    min_blocks: 0,
    max_blocks: 4,
    strategy_period: 3600,
    workers_per_block: 2,
    ...scaling,
  };
  const agent = (name: string): AgentConfig => ({ ...base, name, workers: 2, scaling: settings });
  const pools = new Map(names.map((name) => [name, new Pool(agent(name), 100)]));
  const provider = new FakeProvider();
  const hub = new ScalingEvents();
  const events: ScalingEvent[] = [];
  hub.subscribe((event) => events.push(event));
  const scaler = new Scaler(pools, provider, hub, { log: createLogger("scaler-test", "silent") });
  opened.push(scaler);
  const pool = (name: string) => pools.get(name) ?? assert.fail(`no pool ${name}`);
  const launched = (name: string) => provider.launched.filter((id) => id.startsWith(`${name}-`)).length;
  const describe = () => events.map((e) => `${e.pool} ${e.reason} ${e.blocksBefore}->${e.blocksAfter}`);
  return { pools, pool, provider, scaler, events, launched, describe };
}

let opened: Scaler[] = [];
afterEach(() => {
  for (const scaler of opened) scaler.close();
  opened = [];
});

describe("Scaler under the provider's limit on the host", () => {
  it("launches only what the room allows, saying in the event what was held back", async () => {
    const m = mesh(["solo"]);
    m.provider.maxBlocks = 2;
    m.scaler.start();
    m.provider.run();
    for (let i = 0; i < 7; i += 1) void m.pool("solo").acquire(never);
    await flush();
    assert.equal(m.launched("solo"), 2);
    const admission = m.events.find((e) => e.reason === "admission");
    assert.deepEqual([admission?.blocksBefore, admission?.blocksAfter], [1, 2]);
    assert.match(admission?.detail ?? "", /; 2 of 3 blocks not launched: at most 2 blocks \(test limit\)$/);
  });

  it("tells of a full host once per shortage with a host_limit event that launches nothing", async () => {
    const m = mesh(["solo"]);
    m.provider.maxBlocks = 1;
    m.scaler.start();
    m.provider.run();
    // Two tasks fill the block's slots; the queued ones can be called off.
    for (let i = 0; i < 2; i += 1) void m.pool("solo").acquire(never);
    const queued = Array.from({ length: 5 }, () => new AbortController());
    const enqueue = (task: AbortController) =>
      void m
        .pool("solo")
        .acquire(task.signal)
        .catch(() => {});
    for (const task of queued.slice(0, 4)) enqueue(task);
    await flush();
    m.scaler.pool("solo")?.poll();
    enqueue(queued[4] ?? assert.fail());
    await flush();
    assert.deepEqual(m.describe(), ["solo init 0->1", "solo host_limit 1->1"]);
    assert.equal(m.events[1]?.blockIds.length, 0);
    assert.match(
      m.events[1]?.detail ?? "",
      /^6 tasks need more than 2 slots; 2 of 2 blocks not launched: at most 1 blocks \(test limit\)$/,
    );
    for (const task of queued) task.abort();
    await flush();
    for (let i = 0; i < 7; i += 1) void m.pool("solo").acquire(never);
    await flush();
    assert.equal(m.events.filter((e) => e.reason === "host_limit").length, 2, "a new shortage is told again");
    assert.equal(m.launched("solo"), 1);
  });

  it("counts every pool's blocks against the one limit", async () => {
    const m = mesh(["a", "b"]);
    m.provider.maxBlocks = 3;
    m.scaler.start();
    m.provider.run();
    for (let i = 0; i < 7; i += 1) void m.pool("a").acquire(never);
    await flush();
    for (let i = 0; i < 7; i += 1) void m.pool("b").acquire(never);
    await flush();
    assert.deepEqual([m.launched("a"), m.launched("b")], [2, 1]);
    assert.deepEqual(m.describe().slice(2), ["a admission 1->2", "b host_limit 1->1"]);
  });

  it("launches init_blocks and restores min_blocks whatever the room", () => {
    const m = mesh(["solo"], { init_blocks: 2, min_blocks: 3 });
    m.provider.maxBlocks = 0;
    m.scaler.start();
    assert.equal(m.launched("solo"), 3);
    assert.deepEqual(m.describe(), ["solo init 0->2", "solo min_restore 2->3"]);
  });

  it("leaves a count set by hand alone", () => {
    const m = mesh(["solo"]);
    m.provider.maxBlocks = 1;
    m.scaler.start();
    m.scaler.scale("solo", 4);
    assert.equal(m.launched("solo"), 4);
  });
});
