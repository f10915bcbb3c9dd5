import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Decision, initialMemory, type StrategyMemory } from "./decision.js";
import type { PoolBlock, PoolState } from "./pool-state.js";
import type { ScalingSettings } from "./settings.js";
import { decide } from "./strategy.js";

const BASE: ScalingSettings = {
  strategy: "simple",
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

function running(n: number, extra: Partial<PoolBlock> = {}): PoolBlock[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `r${i}`,
    state: "RUNNING",
    registered: true,
    tasksInFlight: 0,
    idleSeconds: 0,
    ...extra,
  }));
}

function pending(n: number): PoolBlock[] {
  return running(n, { state: "PENDING", registered: false }).map((block, i) => ({ ...block, id: `p${i}` }));
}

function summary(decision: Decision): string {
  if (decision.kind === "none") return "none";
  if (decision.kind === "scale_out") return `out ${decision.blocks}`;
  return `in ${decision.blocks} [${decision.victims.join(",")}]`;
}

describe("decide with Parsl's rules", () => {
  const cases: [string, Partial<ScalingSettings>, PoolState, string][] = [
    [
      "never scales up to min_blocks when there are no tasks",
      { min_blocks: 3 },
      { tasks: 0, blocks: [] },
      "none",
    ],
    ["counts pending blocks as slots", { workers_per_block: 2 }, { tasks: 4, blocks: pending(2) }, "none"],
    [
      "scales out ceil(ceil(tasks × parallelism − slots) / per block)",
      { workers_per_block: 2 },
      { tasks: 5, blocks: running(1) },
      "out 2",
    ],
    [
      "rounds a fractional slot demand up",
      { parallelism: 0.5, workers_per_block: 2 },
      { tasks: 5, blocks: [] },
      "out 2",
    ],
    ["caps the scale-out at max_blocks", { max_blocks: 3 }, { tasks: 9, blocks: running(1) }, "out 2"],
    [
      "does nothing when overloaded at max_blocks",
      { max_blocks: 1 },
      { tasks: 9, blocks: running(1) },
      "none",
    ],
    [
      "adds one block for tasks without slots when parallelism is 0",
      { parallelism: 0 },
      { tasks: 9, blocks: [] },
      "out 1",
    ],
    [
      "adds nothing more with parallelism 0 once there is a slot",
      { parallelism: 0 },
      { tasks: 9, blocks: running(1) },
      "none",
    ],
    [
      "does not count HELD or UNKNOWN blocks as slots",
      {},
      { tasks: 1, blocks: running(2, { state: "HELD" }) },
      "out 1",
    ],
    [
      "simple never scales in while there are tasks, however idle the slots",
      {},
      { tasks: 1, blocks: running(5, { idleSeconds: 999 }) },
      "none",
    ],
    [
      "htex_auto_scale scales in floor(floor(slots − tasks × parallelism) / per block) idle blocks",
      { strategy: "htex_auto_scale", workers_per_block: 2 },
      { tasks: 3, blocks: running(4, { idleSeconds: 999 }) },
      "in 2 [r0,r1]",
    ],
    [
      "htex_auto_scale keeps min_blocks",
      { strategy: "htex_auto_scale", min_blocks: 3 },
      { tasks: 1, blocks: running(4, { idleSeconds: 999 }) },
      "in 1 [r0]",
    ],
    [
      "htex_auto_scale only takes blocks idle past max_idletime with no tasks",
      { strategy: "htex_auto_scale" },
      {
        tasks: 1,
        blocks: [...running(2, { idleSeconds: 30 }), ...running(1, { tasksInFlight: 1, idleSeconds: 999 })],
      },
      "in 2 []",
    ],
    [
      "htex_auto_scale takes unregistered pending blocks first, as if idle forever",
      { strategy: "htex_auto_scale" },
      { tasks: 1, blocks: [...running(2, { idleSeconds: 999 }), ...pending(1)] },
      "in 2 [p0,r0]",
    ],
    [
      "htex_auto_scale asked for 0 blocks takes every idle block, as Parsl's loop never matches 0",
      { strategy: "htex_auto_scale", workers_per_block: 4 },
      { tasks: 9, blocks: [...running(1, { tasksInFlight: 4 }), ...pending(2)] },
      "in 0 [p0,p1]",
    ],
    ["skips a pool in a bad state", {}, { tasks: 9, blocks: [], badState: true }, "none"],
  ];
  for (const [name, change, state, expected] of cases) {
    it(name, () => {
      const { decision } = decide(state, { ...BASE, ...change }, POLLED, NOW);
      assert.equal(summary(decision), expected);
    });
  }
});

describe("decide while the pool's tasks fail on the model", () => {
  const failing = (state: PoolState): PoolState => ({ ...state, modelFailing: true });
  const cases: [string, Partial<ScalingSettings>, PoolState, string][] = [
    [
      "simple adds no block for tasks that fail on the model",
      {},
      failing({ tasks: 9, blocks: running(1) }),
      "none",
    ],
    [
      "chorus adds no block either",
      { strategy: "chorus", min_blocks: 1 },
      failing({ tasks: 9, blocks: running(1) }),
      "none",
    ],
    [
      "chorus still restores min_blocks, and no more",
      { strategy: "chorus", min_blocks: 2 },
      failing({ tasks: 9, blocks: running(1) }),
      "out 1",
    ],
    [
      "htex_auto_scale still scales in idle surplus blocks",
      { strategy: "htex_auto_scale" },
      failing({ tasks: 1, blocks: running(3, { idleSeconds: 999 }) }),
      "in 2 [r0,r1]",
    ],
  ];
  for (const [name, change, state, expected] of cases) {
    it(name, () => {
      assert.equal(summary(decide(state, { ...BASE, ...change }, POLLED, NOW).decision), expected);
    });
  }

  it("launches init_blocks on the first poll all the same", () => {
    const first = decide(
      failing({ tasks: 9, blocks: [] }),
      { ...BASE, init_blocks: 2 },
      initialMemory(),
      NOW,
    );
    assert.equal(summary(first.decision), "out 2");
  });
});

describe("decide's first poll", () => {
  it("launches init_blocks and asks to poll again with the launched blocks", () => {
    const first = decide({ tasks: 0, blocks: [] }, { ...BASE, init_blocks: 2 }, initialMemory(), NOW);
    assert.equal(summary(first.decision), "out 2");
    assert.equal(first.pollAgain, true);
    assert.equal(first.memory.firstPoll, false);
  });

  it("lets htex_auto_scale scale in the init blocks it just launched, as Parsl does", () => {
    const settings: ScalingSettings = {
      ...BASE,
      strategy: "htex_auto_scale",
      init_blocks: 3,
      workers_per_block: 2,
    };
    const first = decide({ tasks: 1, blocks: [] }, settings, initialMemory(), NOW);
    const again = decide({ tasks: 1, blocks: pending(3) }, settings, first.memory, NOW);
    assert.equal(summary(again.decision), "in 2 [p0,p1]");
  });

  it("goes straight to the rules when init_blocks is 0", () => {
    const first = decide({ tasks: 3, blocks: [] }, BASE, initialMemory(), NOW);
    assert.equal(summary(first.decision), "out 3");
    assert.equal(first.pollAgain, false);
  });

  it("with none launches init_blocks once, then nothing, whatever the load", () => {
    const settings: ScalingSettings = { ...BASE, strategy: "none", init_blocks: 2 };
    const first = decide({ tasks: 50, blocks: [] }, settings, initialMemory(), NOW);
    assert.equal(summary(first.decision), "out 2");
    assert.equal(first.pollAgain, false);
    const later = decide({ tasks: 50, blocks: running(2) }, settings, first.memory, NOW + 5);
    assert.equal(summary(later.decision), "none");
  });

  it("with none launches init_blocks even for a pool in a bad state, unlike simple", () => {
    const state = { tasks: 0, blocks: [], badState: true };
    assert.equal(
      summary(decide(state, { ...BASE, strategy: "none", init_blocks: 1 }, initialMemory(), NOW).decision),
      "out 1",
    );
    const simple = decide(state, { ...BASE, init_blocks: 1 }, initialMemory(), NOW);
    assert.equal(summary(simple.decision), "none");
    assert.equal(simple.memory.firstPoll, true);
  });
});

describe("decide's idle timer", () => {
  const idle: PoolState = {
    tasks: 0,
    blocks: [...running(1, { tasksInFlight: 1 }), ...running(2, { idleSeconds: 5 })],
  };
  const settings: ScalingSettings = { ...BASE, min_blocks: 1 };

  it("starts when the pool has no tasks and more than min_blocks", () => {
    const result = decide(idle, settings, POLLED, NOW);
    assert.equal(summary(result.decision), "none");
    assert.equal(result.memory.idleSince, NOW);
  });

  it("waits while idle for exactly max_idletime", () => {
    const result = decide(idle, settings, { firstPoll: false, idleSince: NOW - 120 }, NOW);
    assert.equal(summary(result.decision), "none");
  });

  it("then scales in blocks − min_blocks, taking the longest idle first even if busy", () => {
    const result = decide(idle, settings, { firstPoll: false, idleSince: NOW - 121 }, NOW);
    assert.equal(summary(result.decision), "in 2 [r0,r1]");
  });

  it("is reset by any task", () => {
    const result = decide(
      { tasks: 1, blocks: running(3) },
      settings,
      { firstPoll: false, idleSince: NOW - 500 },
      NOW,
    );
    assert.equal(result.memory.idleSince, null);
  });

  it("keeps running after a scale-in, so blocks added later without tasks go at once", () => {
    const memory = { firstPoll: false, idleSince: NOW - 121 };
    const after = decide(idle, settings, memory, NOW).memory;
    assert.equal(after.idleSince, NOW - 121);
    const later = decide({ tasks: 0, blocks: running(2) }, settings, after, NOW + 5);
    assert.equal(summary(later.decision), "in 1 [r0]");
  });

  it("treats a timer started at time 0 as unset, as Parsl's truthiness test does", () => {
    const result = decide(idle, settings, { firstPoll: false, idleSince: 0 }, 1000);
    assert.equal(result.memory.idleSince, 1000);
  });
});
