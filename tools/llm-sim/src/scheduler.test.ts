import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Scheduler } from "./scheduler.js";

describe("Scheduler", () => {
  it("runs up to the limit, queues the rest in order and refuses beyond the queue", async () => {
    const scheduler = new Scheduler(1, 2);
    const signal = new AbortController().signal;
    const first = await scheduler.admit(signal);
    assert.ok(first);
    const started: string[] = [];
    const second = scheduler.admit(signal)?.then((release) => {
      started.push("second");
      return release;
    });
    const third = scheduler.admit(signal)?.then((release) => {
      started.push("third");
      return release;
    });
    assert.equal(scheduler.admit(signal), undefined);
    assert.equal(scheduler.queued, 2);
    first();
    (await second)?.();
    (await third)?.();
    assert.deepEqual(started, ["second", "third"]);
    assert.equal(scheduler.running, 0);
    assert.equal(scheduler.peakRunning, 1);
  });

  it("drops a queued request whose caller gives up", async () => {
    const scheduler = new Scheduler(1, 1);
    const release = await scheduler.admit(new AbortController().signal);
    const controller = new AbortController();
    const queued = scheduler.admit(controller.signal);
    controller.abort(new Error("gone"));
    await assert.rejects(queued ?? Promise.resolve(), /gone/);
    assert.equal(scheduler.queued, 0);
    release?.();
    assert.equal(scheduler.running, 0);
  });

  it("ignores a second release", async () => {
    const scheduler = new Scheduler(2, 0);
    const release = await scheduler.admit(new AbortController().signal);
    release?.();
    release?.();
    assert.equal(scheduler.running, 0);
  });
});
