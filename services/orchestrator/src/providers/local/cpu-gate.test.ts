import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CpuGate } from "./cpu-gate.js";

describe("CpuGate", () => {
  it("allows about the idle CPUs' worth of processes per window, none while busy, more once the window passes", () => {
    let now = 0;
    let busy = 0.05;
    const gate = new CpuGate({ busy: () => busy, max: 0.85 }, 4, 3000, () => now);
    assert.equal(gate.room().blocks, 3, "4 CPUs × (0.85 − 0.05) ≈ 3");
    gate.launched(2);
    assert.equal(gate.room().blocks, 1, "two of the window's three started");
    gate.launched(1);
    assert.equal(gate.room().blocks, 0);
    assert.match(gate.room().limit, /at most 3 new agent processes per 3 s until their load shows/);
    now = 3000;
    assert.equal(gate.room().blocks, 3, "a new window");
    busy = 0.9;
    assert.equal(gate.room().blocks, 0);
    assert.match(gate.room().limit, /CPUs are 90% busy \(provider.local.max_cpu_busy 85%\)/);
    busy = 0.8;
    assert.equal(gate.room().blocks, 1, "at least one while under max");
  });
});
