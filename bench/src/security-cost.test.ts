import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { median, pairedInterval } from "./stats.js";

describe("the security cost's statistics", () => {
  it("gives the median of an odd and an even count, ignoring what is not a number", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([Number.NaN, 5]), 5);
    assert.ok(Number.isNaN(median([])));
  });

  it("collapses the paired interval to the ratio when every round has the same ratio", () => {
    const [low, high] = pairedInterval([90, 180, 45], [100, 200, 50]);
    assert.ok(Math.abs(low - 0.9) < 1e-12 && Math.abs(high - 0.9) < 1e-12, `${low}–${high}`);
  });

  it("widens with the rounds' spread, brackets the pooled ratio, and repeats exactly", () => {
    const setup = [80, 120, 95, 70, 130, 100];
    const base = [100, 100, 100, 100, 100, 100];
    const [low, high] = pairedInterval(setup, base);
    const pooled = setup.reduce((a, b) => a + b) / base.reduce((a, b) => a + b);
    assert.ok(low < pooled && pooled < high, `${low} < ${pooled} < ${high}`);
    assert.ok(high - low > 0.1, "six rounds from 0.7 to 1.3 do not pin the ratio within 10%");
    assert.deepEqual(pairedInterval(setup, base), [low, high]);
  });
});
