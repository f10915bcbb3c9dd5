import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { defaultAgents, type ScalingSettings } from "@chorus/config";
import { createLogger } from "@chorus/shared";
import { Pool } from "../executor/pool.js";
import { FakeProvider } from "../testing/fake-provider.js";
import { Scaler } from "./scaler.js";
import { type ScalingEvent, ScalingEvents } from "./scaling-events.js";

const open: Scaler[] = [];
afterEach(() => {
  for (const scaler of open.splice(0)) scaler.close();
});

function harness(scaling: Partial<ScalingSettings>) {
  const base = defaultAgents[0] ?? assert.fail("no default agent");
  const settings = { ...base.scaling, strategy_period: 3600, workers_per_block: 2, ...scaling };
  const pool = new Pool({ ...base, workers: 2, scaling: settings }, 100);
  const provider = new FakeProvider();
  const hub = new ScalingEvents();
  const events: ScalingEvent[] = [];
  hub.subscribe((event) => events.push(event));
  const scaler = new Scaler(new Map([[pool.name, pool]]), provider, hub, {
    log: createLogger("scaler-notice-test", "silent"),
  });
  open.push(scaler);
  // Blocks the platform already runs, as a provider reports them before the first notice.
  const found = (count: number) => {
    const ids = provider.launch(pool.name, count);
    provider.run(ids);
    provider.notify({ kind: "resized", pool: pool.name, blocks: count, previous: count, first: true });
    return ids;
  };
  const resized = (blocks: number, previous: number) =>
    provider.notify({ kind: "resized", pool: pool.name, blocks, previous, first: false });
  return { pool, provider, scaler, events, found, resized, name: pool.name };
}

describe("Scaler with a provider whose pools change outside Chorus", () => {
  it("takes the size found at start as its state instead of launching init_blocks", () => {
    const h = harness({ init_blocks: 1, min_blocks: 0, max_blocks: 4 });
    h.found(3);
    h.scaler.start();
    assert.equal(h.provider.launched.length, 3, "nothing launched beyond what was found");
    assert.deepEqual(h.events, []);
  });

  it("brings a pool found above max_blocks back within bounds once it leads, draining the surplus", () => {
    const h = harness({ min_blocks: 1, max_blocks: 2 });
    h.found(5);
    h.scaler.start();
    const first = h.events[0];
    assert.deepEqual([first?.reason, first?.blocksBefore, first?.blocksAfter], ["scale_in", 5, 2]);
    assert.equal(h.provider.cancelled.length, 3);
  });

  it("adopts an outside scale as a manual event, clamping it and putting the platform back within bounds", () => {
    const h = harness({ min_blocks: 1, max_blocks: 4 });
    h.found(1);
    h.scaler.start();
    h.resized(9, 1);
    const [event] = h.events;
    assert.equal(event?.reason, "manual");
    assert.match(
      event?.detail ?? "",
      /scaled to 9 outside Chorus: adopted as the current state, clamped to 4/,
    );
    assert.deepEqual([event?.blocksBefore, event?.blocksAfter], [1, 4]);
    assert.deepEqual(h.provider.resized, [[h.name, 4]]);
  });

  it("with strategy none follows an outside scale as it is, and keeps that count", () => {
    const h = harness({ strategy: "none", init_blocks: 1, min_blocks: 0, max_blocks: 2 });
    h.found(1);
    h.scaler.start();
    h.resized(3, 1);
    assert.match(h.events[0]?.detail ?? "", /strategy none follows it/);
    assert.deepEqual(h.provider.resized, []);
    h.scaler.pool(h.name)?.poll();
    assert.equal(h.provider.launched.length, 3, "missing blocks of the followed count are launched");
  });

  it("as a follower (paused) only records: no launches, no events; a count set by hand goes to the platform", async () => {
    const h = harness({ init_blocks: 1, min_blocks: 2, max_blocks: 4 });
    h.found(1);
    h.resized(3, 1);
    for (let i = 0; i < 9; i += 1) void h.pool.acquire(new AbortController().signal);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(h.provider.launched.length, 1);
    assert.deepEqual(h.events, []);
    const event = h.scaler.scale(h.name, 3);
    assert.match(event.detail, /sent to the leading orchestrator/);
    assert.deepEqual(h.provider.resized, [[h.name, 3]]);
    assert.equal(h.scaler.leading, false);
  });

  it("applies settings overrides at once and returns to the config's when they are removed", () => {
    const h = harness({ min_blocks: 0, max_blocks: 4 });
    h.found(1);
    h.scaler.start();
    h.provider.notify({ kind: "settings", pool: h.name, overrides: { min_blocks: 3 }, warnings: [] });
    assert.equal(h.scaler.pool(h.name)?.settings.min_blocks, 3);
    assert.equal(h.pool.agent.scaling.min_blocks, 0, "the config object is never rewritten");
    assert.deepEqual(h.events.at(-1)?.reason, "min_restore", "the poll ran at once");
    assert.equal(h.provider.launched.length, 3);
    h.provider.notify({ kind: "settings", pool: h.name, overrides: {}, warnings: [] });
    assert.equal(h.scaler.pool(h.name)?.settings.min_blocks, 0);
  });

  it("drains the surplus at once when max_blocks is lowered below the pool's size", () => {
    const h = harness({ min_blocks: 0, max_blocks: 4 });
    h.found(3);
    h.scaler.start();
    h.provider.notify({ kind: "settings", pool: h.name, overrides: { max_blocks: 1 }, warnings: [] });
    assert.deepEqual([h.events.at(-1)?.reason, h.events.at(-1)?.blocksAfter], ["scale_in", 1]);
    assert.equal(h.provider.cancelled.length, 2);
  });
});
