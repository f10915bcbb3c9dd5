import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FAULT_KINDS, faultBag, seeded } from "./chaos-faults.js";

describe("the chaos soak's fault order", () => {
  it("draws every kind once per round, in an order that depends on the seed and repeats with it", () => {
    const draw = (seed: number) => {
      const next = faultBag(seeded(seed));
      return Array.from({ length: FAULT_KINDS.length * 3 }, () => next());
    };
    const run = draw(11);
    for (let round = 0; round < 3; round += 1) {
      const kinds = run.slice(round * FAULT_KINDS.length, (round + 1) * FAULT_KINDS.length);
      assert.deepEqual([...kinds].sort(), [...FAULT_KINDS].sort(), `round ${round} has each kind once`);
    }
    assert.deepEqual(draw(11), run, "the same seed, the same order");
    assert.notDeepEqual(draw(12), run, "another seed, another order");
  });
});
