import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RestartBudget } from "./restart-budget.js";

const policy = { backoffMs: 100, maxBackoffMs: 500, maxRestarts: 5, windowMs: 60_000 };

describe("RestartBudget", () => {
  it("doubles the wait with each recent crash, up to the longest wait", () => {
    const budget = new RestartBudget(policy);
    const waits = [0, 1, 2, 3, 4].map((i) => budget.crash(1000 + i));
    assert.deepEqual(waits, [100, 200, 400, 500, 500]);
  });

  it("calls the crash after maxRestarts within the window a crash loop", () => {
    const budget = new RestartBudget(policy);
    for (let i = 0; i < 5; i += 1) assert.notEqual(budget.crash(i * 1000), undefined);
    assert.equal(budget.crash(5000), undefined);
    assert.equal(budget.recent, 6);
  });

  it("forgets crashes older than the window, so a service that stayed up starts again at the first wait", () => {
    const budget = new RestartBudget(policy);
    for (let i = 0; i < 5; i += 1) budget.crash(i);
    assert.equal(budget.crash(60_000 + 10), 100);
    assert.equal(budget.recent, 1);
  });

  it("allows no restart at all with maxRestarts 0", () => {
    assert.equal(new RestartBudget({ ...policy, maxRestarts: 0 }).crash(0), undefined);
  });
});
