import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PARSL_DEFAULT_SETTINGS } from "../../scaling/index.js";
import { BOUND_ANNOTATIONS, readBounds } from "./pool-bounds.js";

const base = { ...PARSL_DEFAULT_SETTINGS, strategy: "chorus" as const, min_blocks: 1, max_blocks: 4 };
const MIN = BOUND_ANNOTATIONS.min_blocks;
const MAX = BOUND_ANNOTATIONS.max_blocks;
const STRATEGY = BOUND_ANNOTATIONS.strategy;

describe("readBounds", () => {
  const cases: Array<[string, Record<string, string>, object, RegExp[]]> = [
    ["no annotations", {}, {}, []],
    [
      "valid bounds and strategy",
      { [MIN]: "2", [MAX]: "6", [STRATEGY]: "none" },
      { min_blocks: 2, max_blocks: 6, strategy: "none" },
      [],
    ],
    [
      "a malformed count",
      { [MAX]: "lots" },
      {},
      [/^chorus\.dev\/max-blocks="lots" ignored: must be a whole number/],
    ],
    ["a negative count", { [MIN]: "-1" }, {}, [/^chorus\.dev\/min-blocks="-1" ignored/]],
    [
      "an unknown strategy",
      { [STRATEGY]: "greedy" },
      {},
      [/^chorus\.dev\/strategy="greedy" ignored: must be one of/],
    ],
    [
      "min above the config's max",
      { [MIN]: "9" },
      {},
      [/^chorus\.dev\/min-blocks=9 ignored: min-blocks 9 would exceed max-blocks 4/],
    ],
    [
      "min above an annotated max: both go",
      { [MIN]: "5", [MAX]: "3" },
      {},
      [/^chorus\.dev\/min-blocks=5 and chorus\.dev\/max-blocks=3 ignored/],
    ],
    [
      "a bad max next to a good min",
      { [MIN]: "3", [MAX]: "x" },
      { min_blocks: 3 },
      [/max-blocks="x" ignored/],
    ],
  ];
  for (const [name, annotations, overrides, warnings] of cases) {
    it(`reads ${name}`, () => {
      const reading = readBounds(annotations, base);
      assert.deepEqual(reading.overrides, overrides);
      assert.equal(reading.warnings.length, warnings.length, reading.warnings.join("; "));
      for (const [i, pattern] of warnings.entries()) assert.match(reading.warnings[i] ?? "", pattern);
    });
  }
});
