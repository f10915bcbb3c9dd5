import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { defaultAgents } from "@chorus/config";
import { createLogger } from "@chorus/shared";
import { Pool } from "../executor/pool.js";
import { FakeProvider } from "../testing/fake-provider.js";
import { Scaler } from "./scaler.js";
import { type ScalingEvent, ScalingEvents } from "./scaling-events.js";

const never = new AbortController().signal;
const flush = () => new Promise((resolve) => setImmediate(resolve));
const DOWN = { kind: "unavailable", down: true, detail: "model endpoint http://127.0.0.1:9/v1 is down" };

let opened: Scaler[] = [];
afterEach(() => {
  for (const scaler of opened) scaler.close();
  opened = [];
});

/** One chorus pool of 2-worker blocks (1 init block, 0..4) on a FakeProvider, with an hour-long period. */
function mesh() {
  const base = defaultAgents[0] ?? assert.fail("no default agent");
  const scaling = {
    ...base.scaling,
    init_blocks: 1,
    min_blocks: 0,
    max_blocks: 4,
    strategy_period: 3600,
    workers_per_block: 2,
  };
  const pool = new Pool({ ...base, name: "solo", workers: 2, scaling }, 100);
  const provider = new FakeProvider();
  const hub = new ScalingEvents();
  const events: ScalingEvent[] = [];
  hub.subscribe((event) => events.push(event));
  const scaler = new Scaler(new Map([[pool.name, pool]]), provider, hub, {
    log: createLogger("scaler-test", "silent"),
  });
  opened.push(scaler);
  const describe = () => events.map((e) => `${e.pool} ${e.reason} ${e.blocksBefore}->${e.blocksAfter}`);
  return { pool, provider, scaler, events, describe, launched: () => provider.launched.length };
}

describe("Scaler while a pool's tasks fail on the model", () => {
  it("adds no block for them, at admission or at the poll, and scales out again once a task succeeds", async () => {
    const m = mesh();
    m.scaler.start();
    m.provider.run();
    const { pool } = m;
    pool.model.failed(DOWN, Date.now());
    for (let i = 0; i < 7; i += 1) void pool.acquire(never);
    await flush();
    m.scaler.pool("solo")?.poll();
    await flush();
    assert.equal(m.launched(), 1, `events: ${m.describe()}`);
    assert.deepEqual(m.describe(), ["solo init 0->1"]);
    pool.model.succeeded();
    await flush();
    assert.equal(m.launched(), 4, `events: ${m.describe()}`);
    assert.equal(m.events.at(-1)?.reason, "admission");
  });
});
