import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PoolBlock } from "./pool-state.js";
import { chorusVictims, htexVictims, rankCandidates } from "./victims.js";

const INF = Number.POSITIVE_INFINITY;

function block(
  id: string,
  idleSeconds: number,
  tasksInFlight = 0,
  extra: Partial<PoolBlock> = {},
): PoolBlock {
  return { id, state: "RUNNING", registered: true, tasksInFlight, idleSeconds, ...extra };
}

describe("rankCandidates", () => {
  const cases: [string, [string, number, number][], string[]][] = [
    [
      "puts the longest idle first",
      [
        ["a", 5, 0],
        ["b", 50, 0],
        ["c", 20, 0],
      ],
      ["b", "c", "a"],
    ],
    [
      "breaks idle ties by fewest tasks",
      [
        ["a", 9, 3],
        ["b", 9, 1],
        ["c", 9, 2],
      ],
      ["b", "c", "a"],
    ],
    [
      "keeps the given order on full ties",
      [
        ["a", 9, 0],
        ["b", 9, 0],
      ],
      ["a", "b"],
    ],
    [
      "orders several never-idle-measured blocks without NaN",
      [
        ["a", 1, 0],
        ["b", INF, 2],
        ["c", INF, 0],
      ],
      ["c", "b", "a"],
    ],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => {
      const ranked = rankCandidates(input.map(([id, idleSeconds, tasks]) => ({ id, idleSeconds, tasks })));
      assert.deepEqual(
        ranked.map((candidate) => candidate.id),
        expected,
      );
    });
  }
});

describe("htexVictims", () => {
  const blocks = [
    block("busy", 500, 2),
    block("fresh", 10),
    block("old", 300),
    block("pending", 0, 0, { state: "PENDING", registered: false }),
    block("gone", 0, 0, { state: "COMPLETED", registered: false }),
  ];

  it("takes the first ranked blocks, busy ones too, when no idle time is required", () => {
    assert.deepEqual(htexVictims(blocks, 2, null), ["pending", "busy"]);
  });

  it("takes only blocks idle past max_idletime with no tasks when it is required", () => {
    assert.deepEqual(htexVictims(blocks, 5, 120), ["pending", "old"]);
  });

  it("takes every eligible block when asked for zero, as Parsl's loop never matches 0", () => {
    assert.deepEqual(htexVictims(blocks, 0, 120), ["pending", "old"]);
  });

  it("also offers a terminal block whose worker is still connected, after the live ones", () => {
    const lingering = [block("done", 999, 0, { state: "COMPLETED" }), block("live", 200)];
    assert.deepEqual(htexVictims(lingering, 1, null), ["done"]);
    assert.deepEqual(
      htexVictims([block("live", 999), block("done", 999, 0, { state: "COMPLETED" })], 2, null),
      ["live", "done"],
    );
  });
});

describe("chorusVictims", () => {
  it("never takes a block with tasks in flight, unregistered or terminal, or idle too briefly", () => {
    const blocks = [
      block("busy", 900, 1),
      block("pending", 900, 0, { state: "PENDING", registered: false }),
      block("done", 900, 0, { state: "COMPLETED" }),
      block("fresh", 60),
      block("idle", 300),
      block("idler", 400),
    ];
    assert.deepEqual(chorusVictims(blocks, 5, 120), ["idler", "idle"]);
  });

  it("takes at most the requested count and nothing for zero", () => {
    const blocks = [block("a", 300), block("b", 400), block("c", 500)];
    assert.deepEqual(chorusVictims(blocks, 2, 120), ["c", "b"]);
    assert.deepEqual(chorusVictims(blocks, 0, 120), []);
  });
});
