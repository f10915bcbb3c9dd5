import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startChorusUp } from "@chorus/cli/testing";

const persona = { temperature: 0.5, max_tokens: 100, system_prompt: "You help.", workers: 2 };

describe("chorus up with bad scaling config", { timeout: 60_000 }, () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    [
      "min_blocks above max_blocks",
      { min_blocks: 3, max_blocks: 2 },
      /agents\[0\]\.scaling\.min_blocks: must not exceed max_blocks/,
    ],
    ["an unknown strategy", { strategy: "greedy" }, /agents\[0\]\.scaling\.strategy: must be one of/],
  ];
  for (const [name, scaling, key] of cases) {
    it(`exits with status 2 before starting anything, naming the file and the key: ${name}`, async () => {
      await assert.rejects(
        startChorusUp({ agents: [{ name: "solo", ...persona, scaling }] }),
        (err: Error) => {
          assert.match(err.message, /chorus up exited with 2/);
          assert.match(err.message, /chorus\.yaml: /);
          assert.match(err.message, key);
          return true;
        },
      );
    });
  }
});
