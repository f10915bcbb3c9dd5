import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultAgents } from "@chorus/config";
import { Pool } from "../executor/pool.js";
import { encodeLoad, measureLoad, parseLoad, sumLoads } from "./load-report.js";

const never = new AbortController().signal;

describe("load reports", () => {
  it("measures outstanding tasks and the blocks running them, per pool", async () => {
    const [creative, analytical] = defaultAgents;
    assert.ok(creative && analytical);
    const busyPool = new Pool({ ...creative, workers: 1 }, 10);
    const idlePool = new Pool(analytical, 10);
    for (const id of ["pod-b", "pod-a"])
      busyPool.apply({ pool: busyPool.name, blockId: id, state: "RUNNING", address: "127.0.0.1:1" });
    await busyPool.acquire(never);
    await busyPool.acquire(never);
    const queued = busyPool.acquire(never).catch(() => undefined); // both slots are taken
    assert.deepEqual(measureLoad([busyPool, idlePool]), {
      creative: { tasks: 3, busy: ["pod-a", "pod-b"] },
      analytical: { tasks: 0, busy: [] },
    });
    busyPool.rejectAll(new Error("test over"));
    await queued;
  });

  it("round-trips through the annotation, whatever the pools' order", () => {
    const report = { b: { tasks: 1, busy: ["x"] }, a: { tasks: 2, busy: [] } };
    const encoded = encodeLoad(report);
    assert.equal(encoded, encodeLoad({ a: report.a, b: report.b }));
    assert.deepEqual(parseLoad(encoded), report);
  });

  it("reads a malformed annotation as no load, and skips malformed pools", () => {
    for (const bad of [undefined, "", "not json", "[1]", "null", '"text"'])
      assert.deepEqual(parseLoad(bad), {});
    assert.deepEqual(parseLoad('{"a":{"tasks":-1},"b":{"tasks":1.5},"c":{"tasks":2,"busy":["p",3]},"d":7}'), {
      c: { tasks: 2, busy: ["p"] },
    });
  });

  it("sums tasks and joins busy blocks over the reports of one pool", () => {
    const load = sumLoads(
      [
        { a: { tasks: 2, busy: ["p1"] } },
        { a: { tasks: 3, busy: ["p1", "p2"] }, b: { tasks: 9, busy: [] } },
        {},
      ],
      "a",
    );
    assert.equal(load.tasks, 5);
    assert.deepEqual([...load.busy].sort(), ["p1", "p2"]);
    assert.equal(sumLoads([], "a").tasks, 0);
  });
});
