import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FairQueue } from "./fair-queue.js";

/** Queues each "client:item" in order (an item's client is the part before the colon); returns what was shed. */
function pushAll(queue: FairQueue<string>, items: string[]): (string | undefined)[] {
  return items.map((item) => queue.push(item.split(":")[0] ?? "", item));
}

function drain<T>(queue: FairQueue<T>): T[] {
  const out: T[] = [];
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) out.push(item);
  return out;
}

describe("FairQueue", () => {
  it("serves clients in turn, one item each, and each client's items in arrival order", () => {
    const queue = new FairQueue<string>(100);
    pushAll(queue, ["a:1", "a:2", "a:3", "a:4", "b:1", "b:2", "c:1"]);
    assert.deepEqual(drain(queue), ["a:1", "b:1", "c:1", "a:2", "b:2", "a:3", "a:4"]);
  });

  it("serves a client that had nothing waiting before the clients that keep a backlog", () => {
    const queue = new FairQueue<string>(100);
    pushAll(queue, ["batch1:1", "batch1:2", "batch1:3", "batch2:1", "batch2:2", "batch2:3"]);
    assert.deepEqual([queue.shift(), queue.shift()], ["batch1:1", "batch2:1"]);
    // A single Chat arriving now goes next, not behind a round of the batches.
    queue.push("chat", "chat:1");
    assert.deepEqual(drain(queue), ["chat:1", "batch1:2", "batch2:2", "batch1:3", "batch2:3"]);
  });

  it("gives a thousand queued items of one client no precedence over another client's one", () => {
    const queue = new FairQueue<string>(2000);
    pushAll(
      queue,
      Array.from({ length: 1000 }, (_, i) => `batch:${i}`),
    );
    queue.shift();
    queue.push("chat", "chat:1");
    assert.equal(queue.shift(), "chat:1");
    assert.equal(queue.size, 999);
  });

  const shedding: [string, number, string[], (string | undefined)[], string[]][] = [
    [
      "holds up to its limit and sheds nothing before",
      3,
      ["a:1", "b:1", "a:2"],
      [undefined, undefined, undefined],
      ["a:1", "b:1", "a:2"],
    ],
    [
      "when full, sheds the newest item of the client with the most waiting for another client's item",
      4,
      ["b:1", "a:1", "a:2", "a:3", "c:1"],
      [undefined, undefined, undefined, undefined, "a:3"],
      ["b:1", "a:1", "c:1", "a:2"],
    ],
    [
      "when full, refuses the new item itself if its client has as many waiting as anyone",
      4,
      ["a:1", "a:2", "b:1", "b:2", "a:3"],
      [undefined, undefined, undefined, undefined, "a:3"],
      ["a:1", "b:1", "a:2", "b:2"],
    ],
    [
      "among clients with equal backlogs, sheds the newest item of all",
      4,
      ["a:1", "b:1", "a:2", "b:2", "c:1", "c:2"],
      [undefined, undefined, undefined, undefined, "b:2", "a:2"],
      ["a:1", "b:1", "c:1", "c:2"],
    ],
    ["with limit 0 refuses everything", 0, ["a:1", "b:1"], ["a:1", "b:1"], []],
  ];
  for (const [name, limit, pushes, shed, served] of shedding) {
    it(name, () => {
      const queue = new FairQueue<string>(limit);
      const refused = pushAll(queue, pushes);
      assert.ok(queue.size <= limit, `size ${queue.size} over limit ${limit}`);
      assert.deepEqual(refused, shed);
      assert.deepEqual(drain(queue), served);
    });
  }

  it("never holds more than its limit, and hands out exactly what it kept, under any mix of pushes and shifts", () => {
    const queue = new FairQueue<number>(16);
    let seed = 11;
    let held = 0;
    for (let step = 0; step < 5000; step += 1) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      if (seed % 3 === 0) {
        if (queue.shift() !== undefined) held -= 1;
      } else if (queue.push(`client${seed % 5}`, step) === undefined) {
        held += 1;
      }
      // Shedding a queued item for the new one keeps the count, and so does refusing the new one.
      assert.equal(queue.size, held);
      assert.ok(queue.size <= 16, `step ${step}: ${queue.size} waiting`);
    }
    assert.equal(drain(queue).length, held);
  });

  it("skips items the caller cannot serve now, keeping each client's order", () => {
    const queue = new FairQueue<string>(10);
    pushAll(queue, ["a:retry", "a:2", "b:1"]);
    assert.equal(
      queue.shift((item) => item !== "a:retry"),
      "a:2",
    );
    assert.deepEqual(drain(queue), ["b:1", "a:retry"]);
  });

  it("drops a removed item, and a client left with nothing is out of the rotation", () => {
    const queue = new FairQueue<string>(10);
    pushAll(queue, ["a:1", "b:1", "b:2"]);
    assert.equal(queue.remove("a", "a:1"), true);
    assert.equal(queue.remove("a", "a:1"), false);
    assert.equal(queue.sizeOf("a"), 0);
    assert.deepEqual(drain(queue), ["b:1", "b:2"]);
  });

  it("clear hands back every waiting item and leaves the queue empty", () => {
    const queue = new FairQueue<string>(10);
    pushAll(queue, ["a:1", "b:1", "a:2"]);
    assert.deepEqual(queue.clear().sort(), ["a:1", "a:2", "b:1"]);
    assert.equal(queue.size, 0);
    assert.equal(queue.shift(), undefined);
  });
});
