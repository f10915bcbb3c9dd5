import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { onAdmission } from "./admission.js";
import type { PoolBlock, PoolState } from "./pool-state.js";
import type { ScalingSettings } from "./settings.js";

const CHORUS: ScalingSettings = {
  strategy: "chorus",
  init_blocks: 0,
  min_blocks: 0,
  max_blocks: 4,
  parallelism: 1,
  workers_per_block: 2,
  max_idletime: 120,
  strategy_period: 5,
};

function blocks(n: number, state: PoolBlock["state"] = "RUNNING"): PoolBlock[] {
  return Array.from({ length: n }, (_, i) => ({
    id: String(i),
    state,
    registered: state === "RUNNING",
    tasksInFlight: 0,
    idleSeconds: 0,
  }));
}

describe("onAdmission", () => {
  const cases: [string, Partial<ScalingSettings>, PoolState, string][] = [
    [
      "scales out at once when admitted tasks exceed the slots",
      {},
      { tasks: 7, blocks: blocks(1) },
      "scale_out 3",
    ],
    [
      "counts blocks still pending, so a burst is answered once",
      {},
      { tasks: 7, blocks: [...blocks(1), ...blocks(3, "PENDING").map((b) => ({ ...b, id: `p${b.id}` }))] },
      "none",
    ],
    ["stops at max_blocks", {}, { tasks: 50, blocks: blocks(4) }, "none"],
    [
      "adds one block with parallelism 0 and no slots",
      { parallelism: 0 },
      { tasks: 9, blocks: [] },
      "scale_out 1",
    ],
    [
      "leaves Parsl's strategies to the period",
      { strategy: "htex_auto_scale" },
      { tasks: 9, blocks: [] },
      "none",
    ],
    ["ignores a pool in a bad state", {}, { tasks: 9, blocks: [], badState: true }, "none"],
    ["does nothing without tasks", { min_blocks: 1 }, { tasks: 0, blocks: [] }, "none"],
    [
      "adds no block while the pool's tasks fail on the model",
      {},
      { tasks: 7, blocks: blocks(1), modelFailing: true },
      "none",
    ],
    [
      "still restores min_blocks, and only that, while the tasks fail on the model",
      { min_blocks: 2 },
      { tasks: 7, blocks: blocks(1), modelFailing: true },
      "scale_out 1",
    ],
  ];
  for (const [name, change, state, expected] of cases) {
    it(name, () => {
      const decision = onAdmission(state, { ...CHORUS, ...change });
      assert.equal(decision.kind === "scale_out" ? `scale_out ${decision.blocks}` : decision.kind, expected);
    });
  }
});
