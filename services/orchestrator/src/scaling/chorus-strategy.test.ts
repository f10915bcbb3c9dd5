import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Decision, initialMemory, type StrategyMemory } from "./decision.js";
import type { PoolBlock, PoolState } from "./pool-state.js";
import type { ScalingSettings } from "./settings.js";
import { decide } from "./strategy.js";

const CHORUS: ScalingSettings = {
  strategy: "chorus",
  init_blocks: 0,
  min_blocks: 0,
  max_blocks: 10,
  parallelism: 1,
  workers_per_block: 1,
  max_idletime: 120,
  strategy_period: 5,
};
const POLLED: StrategyMemory = { firstPoll: false, idleSince: null };
const NOW = 1000;

function blk(id: string, idleSeconds: number, tasksInFlight = 0, extra: Partial<PoolBlock> = {}): PoolBlock {
  return { id, state: "RUNNING", registered: true, tasksInFlight, idleSeconds, ...extra };
}

function summary(decision: Decision): string {
  if (decision.kind === "none") return "none";
  if (decision.kind === "scale_out") return `out ${decision.blocks}`;
  return `in ${decision.blocks} [${decision.victims.join(",")}]`;
}

describe("decide with the chorus rules", () => {
  const cases: [string, Partial<ScalingSettings>, PoolState, StrategyMemory, string][] = [
    ["restores min_blocks even without tasks", { min_blocks: 2 }, { tasks: 0, blocks: [] }, POLLED, "out 2"],
    [
      "restores min_blocks or meets demand, whichever needs more",
      { min_blocks: 2 },
      { tasks: 5, blocks: [] },
      POLLED,
      "out 5",
    ],
    [
      "scales out like htex_auto_scale",
      { workers_per_block: 2 },
      { tasks: 5, blocks: [blk("a", 0, 2)] },
      POLLED,
      "out 2",
    ],
    [
      "adds one block with parallelism 0 and no slots",
      { parallelism: 0 },
      { tasks: 3, blocks: [] },
      POLLED,
      "out 1",
    ],
    [
      "scales in only idle registered blocks with nothing in flight",
      {},
      {
        tasks: 1,
        blocks: [
          blk("busy", 999, 1),
          blk("pending", 999, 0, { state: "PENDING", registered: false }),
          blk("fresh", 10),
          blk("idle", 300),
        ],
      },
      POLLED,
      "in 1 [idle]",
    ],
    [
      "decides nothing when no block has been idle long enough",
      {},
      { tasks: 1, blocks: [blk("a", 10), blk("b", 20)] },
      POLLED,
      "none",
    ],
    [
      "never takes every idle block when the count is 0, unlike htex_auto_scale",
      { workers_per_block: 4 },
      { tasks: 3, blocks: [blk("a", 999), blk("b", 999)] },
      POLLED,
      "in 1 [a]",
    ],
    [
      "keeps a block a task just reached although the pool was idle long enough",
      {},
      { tasks: 0, blocks: [blk("late", 0, 1), blk("idle", 300)] },
      { firstPoll: false, idleSince: NOW - 500 },
      "in 1 [idle]",
    ],
    [
      "waits for the pool's idle timer before scaling in an idle pool",
      {},
      { tasks: 0, blocks: [blk("a", 300)] },
      { firstPoll: false, idleSince: NOW - 60 },
      "none",
    ],
    [
      "skips a pool in a bad state",
      { min_blocks: 2 },
      { tasks: 0, blocks: [], badState: true },
      POLLED,
      "none",
    ],
  ];
  for (const [name, change, state, memory, expected] of cases) {
    it(name, () => {
      assert.equal(summary(decide(state, { ...CHORUS, ...change }, memory, NOW).decision), expected);
    });
  }

  it("launches init_blocks on the first poll and does not scale in blocks that have not registered", () => {
    const settings = { ...CHORUS, init_blocks: 3, workers_per_block: 2 };
    const first = decide({ tasks: 1, blocks: [] }, settings, initialMemory(), NOW);
    assert.equal(summary(first.decision), "out 3");
    assert.equal(first.pollAgain, true);
    const launched = ["0", "1", "2"].map((id) => blk(id, 0, 0, { state: "PENDING", registered: false }));
    const again = decide({ tasks: 1, blocks: launched }, settings, first.memory, NOW);
    assert.equal(summary(again.decision), "none");
  });

  it("starts the pool's idle timer when tasks run out and clears it when they return", () => {
    const idle = decide({ tasks: 0, blocks: [blk("a", 0)] }, CHORUS, POLLED, NOW);
    assert.equal(idle.memory.idleSince, NOW);
    const busy = decide({ tasks: 1, blocks: [blk("a", 0, 1)] }, CHORUS, idle.memory, NOW + 5);
    assert.equal(busy.memory.idleSince, null);
  });
});
