import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { describe, it } from "node:test";
import { HostCpu } from "./host-cpu.js";

describe("HostCpu", () => {
  it("sees this process keep one CPU busy, as a fraction of all of them", () => {
    const cpu = new HostCpu(60_000, 60_000);
    const end = Date.now() + 400;
    while (Date.now() < end) Math.sqrt(Math.random());
    const busy = cpu.busy();
    cpu.close();
    // One spinning thread of N CPUs is at least about 1/N busy; the whole host never exceeds 1.
    assert.ok(busy >= 0.8 / availableParallelism(), `busy ${busy}`);
    assert.ok(busy <= 1, `busy ${busy}`);
  });
});
