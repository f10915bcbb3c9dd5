import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UtilizationWindow } from "./utilization.js";

const close = (actual: number, expected: number) =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `expected ${expected}, got ${actual}`);

describe("UtilizationWindow", () => {
  it("is busy worker-time over available worker-time, and still shows a batch after it ended", () => {
    const window = new UtilizationWindow(60_000);
    window.set(0, 0, 4);
    window.set(1_000, 4, 4); // a batch keeps all four slots busy for ten seconds
    window.set(11_000, 0, 4);
    close(window.ratio(21_000), (4 * 10_000) / (4 * 21_000));
  });

  it("forgets work that left the window", () => {
    const window = new UtilizationWindow(60_000);
    window.set(0, 4, 4);
    window.set(10_000, 0, 4);
    close(window.ratio(65_000), (4 * 5_000) / (4 * 60_000));
    close(window.ratio(75_000), 0);
  });

  it("counts only the time since the pool was first reported", () => {
    const window = new UtilizationWindow(60_000);
    window.set(50_000, 1, 2);
    close(window.ratio(60_000), 0.5);
  });

  it("weighs time by the slots there were at the time", () => {
    const window = new UtilizationWindow(60_000);
    window.set(0, 1, 1);
    window.set(10_000, 1, 3);
    close(window.ratio(20_000), (10_000 + 10_000) / (10_000 + 30_000));
  });

  it("is 0 while no slot was available", () => {
    const window = new UtilizationWindow(60_000);
    window.set(0, 0, 0);
    close(window.ratio(5_000), 0);
  });

  it("fed uneven steps, matches the exact integral over a window that ends on a bucket edge", () => {
    const window = new UtilizationWindow(6_000); // 100 ms buckets
    const levels: Array<[number, number, number]> = [];
    let at = 0;
    for (let step = 0; step < 500; step += 1) {
      const level: [number, number, number] = [at, step % 5, 4 + (step % 3)];
      levels.push(level);
      window.set(...level);
      at += (step * 37) % 101;
    }
    const until = Math.ceil(at / 100) * 100;
    const from = until - 6_000;
    let busyTime = 0;
    let slotTime = 0;
    for (const [index, [start, busy, slots]] of levels.entries()) {
      const end = levels[index + 1]?.[0] ?? until;
      const span = Math.max(0, end - Math.max(start, from));
      busyTime += busy * span;
      slotTime += slots * span;
    }
    close(window.ratio(until), busyTime / slotTime);
  });
});
