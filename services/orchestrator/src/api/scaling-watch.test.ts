import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { type ScalingEvent, ScalingEvents } from "../scaler/scaling-events.js";
import { watchScaling } from "./scaling-watch.js";

function event(pool: string, blocksAfter: number): ScalingEvent {
  return {
    timeMs: Date.now(),
    pool,
    blocksBefore: 0,
    blocksAfter,
    reason: "scale_out",
    tasks: 0,
    slots: 0,
    strategy: "chorus",
    detail: "",
    blockIds: [],
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("ScalingEvents", () => {
  it("keeps only the most recent events, oldest first", () => {
    const events = new ScalingEvents(3);
    for (let i = 1; i <= 5; i += 1) events.publish(event("a", i));
    assert.deepEqual(
      events.recent().map((e) => e.blocksAfter),
      [3, 4, 5],
    );
  });

  it("hands every event to subscribers until they unsubscribe", () => {
    const events = new ScalingEvents();
    const seen: number[] = [];
    const unsubscribe = events.subscribe((e) => seen.push(e.blocksAfter));
    events.publish(event("a", 1));
    unsubscribe();
    events.publish(event("a", 2));
    assert.deepEqual(seen, [1]);
  });

  it("inserts another orchestrator's late events in time order, tells subscribers, and drops one too old to keep", () => {
    const events = new ScalingEvents(3);
    const at = (blocksAfter: number, timeMs: number) => ({ ...event("a", blocksAfter), timeMs });
    const seen: number[] = [];
    events.subscribe((e) => seen.push(e.blocksAfter));
    events.publish(at(1, 100));
    events.publish(at(3, 300));
    events.insert(at(2, 200));
    assert.deepEqual(
      events.recent().map((e) => e.blocksAfter),
      [1, 2, 3],
    );
    events.insert(at(0, 50));
    assert.deepEqual(
      events.recent().map((e) => e.blocksAfter),
      [1, 2, 3],
      "older than every event a full ring keeps",
    );
    assert.deepEqual(seen, [1, 3, 2]);
  });
});

describe("watchScaling", () => {
  it("replays the recent events of the pool asked for, then follows new ones", async () => {
    const events = new ScalingEvents();
    events.publish(event("a", 1));
    events.publish(event("b", 1));
    const controller = new AbortController();
    const stream = watchScaling(events, { pool: "a", replayOnly: false, signal: controller.signal });
    const seen: number[] = [];
    const done = (async () => {
      for await (const e of stream) seen.push(e.blocksAfter);
    })();
    await tick();
    events.publish(event("b", 2));
    events.publish(event("a", 2));
    await tick();
    controller.abort();
    await done;
    assert.deepEqual(seen, [1, 2]);
  });

  it("ends after the replay with replay_only", async () => {
    const events = new ScalingEvents();
    events.publish(event("a", 1));
    const seen: ScalingEvent[] = [];
    const signal = new AbortController().signal;
    for await (const e of watchScaling(events, { pool: undefined, replayOnly: true, signal })) seen.push(e);
    assert.equal(seen.length, 1);
  });

  it("ends with UNAVAILABLE when the orchestrator shuts down", async () => {
    const events = new ScalingEvents();
    const signal = new AbortController().signal;
    const done = (async () => {
      for await (const _ of watchScaling(events, { pool: undefined, replayOnly: false, signal })) {
        // Nothing was published.
      }
    })();
    await tick();
    events.close();
    await assert.rejects(done, (err: { code?: number }) => err.code === status.UNAVAILABLE);
  });
});
