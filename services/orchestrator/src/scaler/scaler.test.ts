import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { defaultAgents, type ScalingSettings } from "@chorus/config";
import { createLogger } from "@chorus/shared";
import { Pool } from "../executor/pool.js";
import { FakeProvider } from "../testing/fake-provider.js";
import { ScaleRejected, type ScaleRejection } from "./scale-rejected.js";
import { Scaler } from "./scaler.js";
import type { RestartPolicy } from "./scaler-restarts.js";
import { type ScalingEvent, ScalingEvents } from "./scaling-events.js";

const never = new AbortController().signal;
const flush = () => new Promise((resolve) => setImmediate(resolve));
const FAST_RESTARTS: RestartPolicy = { maxRestarts: 2, windowMs: 60_000, backoffMs: 5 };

interface Harness {
  readonly pool: Pool;
  readonly provider: FakeProvider;
  readonly scaler: Scaler;
  readonly events: ScalingEvent[];
  /** Moves the scaler's clock (and so every block's idle time) forward. */
  advance(seconds: number): void;
  poll(): void;
}

let open: Harness[] = [];
afterEach(() => {
  for (const harness of open) harness.scaler.close();
  open = [];
});

function harness(scaling: Partial<ScalingSettings>, policy = FAST_RESTARTS): Harness {
  const base = defaultAgents[0] ?? assert.fail("no default agent");
  const settings = { ...base.scaling, strategy_period: 3600, workers_per_block: 2, ...scaling };
  const pool = new Pool({ ...base, workers: 2, scaling: settings }, 100);
  const provider = new FakeProvider();
  const hub = new ScalingEvents();
  const events: ScalingEvent[] = [];
  hub.subscribe((event) => events.push(event));
  let offset = 0;
  const scaler = new Scaler(new Map([[pool.name, pool]]), provider, hub, {
    policy,
    clock: () => Date.now() + offset,
    log: createLogger("scaler-test", "silent"),
  });
  const h: Harness = {
    pool,
    provider,
    scaler,
    events,
    advance: (seconds) => {
      offset += seconds * 1000;
    },
    poll: () => scaler.pool(pool.name)?.poll(),
  };
  open.push(h);
  return h;
}

async function waitFor(what: string, ready: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i += 1) {
    if (ready()) return;
    await delay(10);
  }
  assert.fail(`timed out waiting for ${what}`);
}

const reasons = (h: Harness) => h.events.map((event) => event.reason);

describe("Scaler", () => {
  it("launches init_blocks at start and reports them as an init event", () => {
    const h = harness({ init_blocks: 2, min_blocks: 0 });
    h.scaler.start();
    assert.equal(h.provider.launched.length, 2);
    assert.deepEqual(reasons(h), ["init"]);
    assert.deepEqual([h.events[0]?.blocksBefore, h.events[0]?.blocksAfter], [0, 2]);
  });

  it("scales a chorus pool out when tasks are admitted, without waiting for the period", async () => {
    const h = harness({ init_blocks: 1, min_blocks: 0, max_blocks: 4 });
    h.scaler.start();
    h.provider.run();
    for (let i = 0; i < 7; i += 1) void h.pool.acquire(never);
    await flush();
    const admission = h.events.find((event) => event.reason === "admission");
    assert.ok(admission, `events: ${reasons(h)}`);
    assert.equal(admission.blocksAfter, 4, "7 tasks need 4 blocks of 2 slots");
    assert.equal(h.provider.launched.length, 4);
    h.provider.run();
    await flush();
    assert.equal(h.pool.queued, 0, "the new blocks took the queued tasks");
  });

  it("never launches past max_blocks, however many tasks arrive", async () => {
    const h = harness({ init_blocks: 1, min_blocks: 0, max_blocks: 3 });
    h.scaler.start();
    for (let i = 0; i < 50; i += 1) void h.pool.acquire(never);
    await flush();
    h.poll();
    assert.equal(h.provider.launched.length, 3);
  });

  it("leaves Parsl's strategies to their period: no admission-time scale-out", async () => {
    const h = harness({ strategy: "htex_auto_scale", init_blocks: 1, min_blocks: 0, max_blocks: 4 });
    h.scaler.start();
    h.provider.run();
    for (let i = 0; i < 7; i += 1) void h.pool.acquire(never);
    await flush();
    assert.equal(h.provider.launched.length, 1);
    h.poll();
    assert.deepEqual(reasons(h), ["init", "scale_out"]);
    assert.equal(h.provider.launched.length, 4);
  });

  it("scales in only idle blocks, draining them first; a block with a task in flight stays", async () => {
    const h = harness({ init_blocks: 3, min_blocks: 0, max_idletime: 1 });
    h.scaler.start();
    h.provider.run();
    const busy = await h.pool.acquire(never);
    h.advance(10);
    h.poll();
    await flush();
    const scaleIn = h.events.find((event) => event.reason === "scale_in");
    assert.ok(scaleIn, `events: ${reasons(h)}`);
    assert.deepEqual([scaleIn.blocksBefore, scaleIn.blocksAfter], [3, 1]);
    assert.equal(h.provider.cancelled.length, 2);
    assert.ok(!h.provider.cancelled.includes(busy.id), "the busy block was not cancelled");
    assert.deepEqual([...h.pool.blocks.keys()], [busy.id]);
    assert.equal(busy.state, "RUNNING");
  });

  it("scales out on tasks other orchestrators report, at once, as on its own", async () => {
    const h = harness({ init_blocks: 1, min_blocks: 0, max_blocks: 4 });
    h.scaler.start();
    h.provider.run();
    h.pool.setRemote({ tasks: 7, busy: new Set() });
    await flush();
    const admission = h.events.find((event) => event.reason === "admission");
    assert.ok(admission, `events: ${reasons(h)}`);
    assert.equal(admission.tasks, 7);
    assert.equal(admission.blocksAfter, 4, "7 remote tasks need 4 blocks of 2 slots");
  });

  it("keeps a block another orchestrator has a task on, when its own view says idle", async () => {
    const h = harness({ init_blocks: 3, min_blocks: 0, max_idletime: 1 });
    h.scaler.start();
    h.provider.run();
    const [peerBusy] = [...h.pool.blocks.keys()];
    assert.ok(peerBusy);
    h.pool.setRemote({ tasks: 1, busy: new Set([peerBusy]) });
    h.advance(10);
    h.poll();
    await flush();
    assert.equal(h.provider.cancelled.length, 2);
    assert.ok(!h.provider.cancelled.includes(peerBusy), "the block a peer uses was not cancelled");
    assert.deepEqual([...h.pool.blocks.keys()], [peerBusy]);
  });

  it("scales a whole idle chorus pool down to min_blocks after max_idletime, not before", () => {
    const h = harness({ init_blocks: 3, min_blocks: 1, max_idletime: 5 });
    h.scaler.start();
    h.provider.run();
    h.poll();
    h.advance(2);
    h.poll();
    assert.equal(h.provider.cancelled.length, 0, "idle for less than max_idletime");
    h.advance(10);
    h.poll();
    assert.equal(h.provider.cancelled.length, 2);
    assert.equal(h.pool.blocks.size, 1);
  });

  it("restores min_blocks in a chorus pool with no tasks", () => {
    const h = harness({ init_blocks: 0, min_blocks: 2 });
    h.scaler.start();
    assert.deepEqual(reasons(h), ["min_restore"]);
    assert.equal(h.provider.launched.length, 2);
  });

  it("cancels the victims of Parsl's strategies at once", () => {
    const h = harness({ strategy: "simple", init_blocks: 2, min_blocks: 0, max_idletime: 5 });
    h.scaler.start();
    h.provider.run();
    h.poll();
    h.advance(10);
    h.poll();
    assert.deepEqual(reasons(h), ["init", "scale_in"]);
    assert.equal(h.provider.cancelled.length, 2);
    assert.equal(h.pool.blocks.size, 0);
  });

  it("replaces a failed block after a backoff when the strategy still wants it", async () => {
    const h = harness({ init_blocks: 1, min_blocks: 0, max_blocks: 2 }, { ...FAST_RESTARTS, backoffMs: 300 });
    h.scaler.start();
    h.provider.run();
    for (let i = 0; i < 4; i += 1) void h.pool.acquire(never);
    await flush();
    h.provider.run();
    const victim = h.provider.launched[0] ?? assert.fail("nothing launched");
    h.provider.fail(victim);
    // Its two tasks come back to the queue, as runAgentTask retries them.
    for (let i = 0; i < 2; i += 1) void h.pool.acquire(never);
    await flush();
    assert.equal(h.provider.launched.length, 2, "no launch during the backoff, not even at admission");
    await waitFor("a replacement", () => h.provider.launched.length === 3);
    assert.deepEqual(reasons(h), ["init", "admission", "block_failed", "replace_failed"]);
  });

  it("does not replace a failed block the strategy no longer wants", async () => {
    const h = harness({ init_blocks: 2, min_blocks: 0 });
    h.scaler.start();
    h.provider.run();
    h.provider.fail(h.provider.launched[0] ?? "");
    await delay(FAST_RESTARTS.backoffMs * 10);
    assert.equal(h.provider.launched.length, 2);
    assert.deepEqual(reasons(h), ["init", "block_failed"]);
  });

  it("keeps a fixed pool (strategy none) at its count, but gives up after maxRestarts failures", async () => {
    const h = harness({ strategy: "none", init_blocks: 1, min_blocks: 0 });
    h.scaler.start();
    for (let failure = 1; failure <= FAST_RESTARTS.maxRestarts; failure += 1) {
      h.provider.run();
      h.provider.fail(h.provider.launched.at(-1) ?? "");
      await waitFor(`replacement ${failure}`, () => h.provider.launched.length === failure + 1);
    }
    h.provider.fail(h.provider.launched.at(-1) ?? "");
    await delay(FAST_RESTARTS.backoffMs * 2 ** FAST_RESTARTS.maxRestarts * 4);
    h.poll();
    assert.equal(h.provider.launched.length, FAST_RESTARTS.maxRestarts + 1, "no replacement past the budget");
  });

  it("sets a pool's blocks by hand, raising a count below min_blocks", () => {
    const h = harness({ init_blocks: 1, min_blocks: 1, max_blocks: 4 });
    h.scaler.start();
    h.provider.run();
    const up = h.scaler.scale(h.pool.name, 3);
    assert.deepEqual([up.reason, up.blocksBefore, up.blocksAfter], ["manual", 1, 3]);
    h.provider.run();
    const down = h.scaler.scale(h.pool.name, 0);
    assert.deepEqual([down.blocksBefore, down.blocksAfter], [3, 1]);
    assert.match(down.detail, /raised to min_blocks 1/);
    assert.equal(h.provider.cancelled.length, 2);
  });

  it("drains a busy block set aside by hand and stops it only once its task is done", async () => {
    const h = harness({ init_blocks: 1, min_blocks: 0 });
    h.scaler.start();
    h.provider.run();
    const block = await h.pool.acquire(never);
    h.scaler.scale(h.pool.name, 0);
    await flush();
    assert.equal(block.state, "DRAINING");
    assert.deepEqual(h.provider.cancelled, []);
    h.pool.release(block);
    await flush();
    assert.deepEqual(h.provider.cancelled, [block.id]);
  });

  it("refuses an unknown pool and counts out of bounds, naming the field", () => {
    const h = harness({ max_blocks: 4 });
    h.scaler.start();
    const refuses = (pool: string, blocks: number, reason: ScaleRejection, message: RegExp) =>
      assert.throws(
        () => h.scaler.scale(pool, blocks),
        (err) => err instanceof ScaleRejected && err.reason === reason && message.test(err.message),
      );
    refuses("poet", 1, "unknown_pool", /^pool: no agent pool named "poet"/);
    refuses(h.pool.name, -1, "out_of_range", /^blocks: must be a whole number >= 0/);
    refuses(h.pool.name, 5, "out_of_range", /^blocks: 5 exceeds max_blocks 4/);
  });
});
