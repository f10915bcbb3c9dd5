import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ScalingSettings } from "./scaling.js";
import { validateScalingSettings } from "./validate-scaling.js";

/** Parsl's defaults: Config (simple, 5 s, 120 s) and LocalProvider (1/0/1 blocks, parallelism 1). */
const DEFAULT_SCALING_SETTINGS: ScalingSettings = {
  strategy: "simple",
  init_blocks: 1,
  min_blocks: 0,
  max_blocks: 1,
  parallelism: 1,
  workers_per_block: 1,
  max_idletime: 120,
  strategy_period: 5,
};

describe("validateScalingSettings", () => {
  it("accepts Parsl's defaults", () => {
    assert.deepEqual(validateScalingSettings(DEFAULT_SCALING_SETTINGS), []);
  });

  it("accepts init_blocks outside min..max, as Parsl does", () => {
    assert.deepEqual(
      validateScalingSettings({ ...DEFAULT_SCALING_SETTINGS, init_blocks: 5, max_blocks: 2 }),
      [],
    );
  });

  it("accepts parallelism at both edges", () => {
    for (const parallelism of [0, 1]) {
      assert.deepEqual(validateScalingSettings({ ...DEFAULT_SCALING_SETTINGS, parallelism }), []);
    }
  });

  const cases: [string, Record<string, unknown>, string][] = [
    ["an unknown strategy", { strategy: "greedy" }, "pools.a.strategy: must be one of none, simple"],
    [
      "min_blocks above max_blocks",
      { min_blocks: 3, max_blocks: 2 },
      "pools.a.min_blocks: must not exceed max_blocks",
    ],
    ["negative init_blocks", { init_blocks: -1 }, "pools.a.init_blocks: must be an integer >= 0"],
    ["fractional max_blocks", { max_blocks: 1.5 }, "pools.a.max_blocks: must be an integer >= 0"],
    ["parallelism above 1", { parallelism: 1.2 }, "pools.a.parallelism: must be a number from 0 to 1"],
    ["negative parallelism", { parallelism: -0.1 }, "pools.a.parallelism: must be a number from 0 to 1"],
    [
      "zero workers per block",
      { workers_per_block: 0 },
      "pools.a.workers_per_block: must be an integer >= 1",
    ],
    ["negative max_idletime", { max_idletime: -5 }, "pools.a.max_idletime: must be a number of seconds >= 0"],
    [
      "a zero strategy_period",
      { strategy_period: 0 },
      "pools.a.strategy_period: must be a number of seconds > 0",
    ],
    ["a string where a number belongs", { min_blocks: "1" }, "pools.a.min_blocks: must be an integer >= 0"],
    ["a misspelt key", { max_idle_time: 10 }, "pools.a.max_idle_time: unknown key"],
  ];
  for (const [what, change, message] of cases) {
    it(`rejects ${what}, naming the key`, () => {
      const errors = validateScalingSettings({ ...DEFAULT_SCALING_SETTINGS, ...change }, "pools.a");
      assert.equal(errors.length, 1, errors.join("; "));
      assert.ok(errors[0]?.startsWith(message), errors[0]);
    });
  }

  it("rejects a value that is not a mapping", () => {
    assert.deepEqual(validateScalingSettings([], "scaling"), ["scaling: must be a mapping"]);
  });
});
