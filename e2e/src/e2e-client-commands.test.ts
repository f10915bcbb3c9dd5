import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { type ChorusUp, startChorusUp } from "@chorus/cli/testing";
import { noTerminal, runInTerminal, Terminal } from "./testing/terminal.js";

const AGENTS = ["creative", "analytical", "balanced"];

describe("the client commands on a terminal, against chorus up", {
  timeout: 60_000,
}, () => {
  let mesh: ChorusUp;
  const chorus = (...args: string[]) => runInTerminal([...args, "--address", mesh.address]);
  /** The `pool NAME (...)` line of `chorus status`. */
  const poolLine = async (pool: string) => {
    const { code, screen } = await chorus("status");
    assert.equal(code, 0, screen.join("\n"));
    return screen.find((line) => line.startsWith(`pool ${pool} `)) ?? assert.fail(screen.join("\n"));
  };
  before(async () => {
    assert.equal(noTerminal, undefined, `the CLI tests need a terminal: ${noTerminal}`);
    mesh = await startChorusUp();
  });
  after(() => mesh.stop());

  it("chorus ask prints the answer, then which agents answered and the turn id", async () => {
    const { code, screen } = await chorus("ask", "What is a semaphore?");
    assert.equal(code, 0, screen.join("\n"));
    assert.match(screen[0] ?? "", /^\[simulated\] As a creative assistant, .*semaphore/);
    const agents = AGENTS.map((agent) => `${agent} ok \\d+\\.\\d ms`).join(", ");
    assert.match(screen.filter(Boolean).at(-1) ?? "", new RegExp(`^— ${agents}; turn [\\w-]+$`));
  });

  it("chorus stats counts the one turn asked: one request, one per agent", async () => {
    const { code, screen } = await chorus("stats");
    assert.equal(code, 0, screen.join("\n"));
    assert.equal(screen[0], "requests: 1 total, 1 ok, 0 failed");
    for (const agent of AGENTS) {
      const row = screen.find((line) => line.trimStart().startsWith(`${agent} `));
      assert.match(row ?? "", /^ {2}\S+ +1 req +0 err 100\.0% ok/, `${agent}: ${row}`);
    }
  });

  it("chorus status shows every component ok and each pool with its one running block", async () => {
    const { code, screen } = await chorus("status");
    assert.equal(code, 0, screen.join("\n"));
    for (const name of ["history", "cache", "llm", ...AGENTS.map((a) => `pool/${a}`)]) {
      assert.ok(
        screen.some((line) => line.startsWith(`  ok   ${name} `)),
        `${name} ok in:\n${screen.join("\n")}`,
      );
    }
    for (const agent of AGENTS) {
      assert.match(await poolLine(agent), /: 1 blocks \(RUNNING 1\), 4 slots, 0 running, 0 queued$/);
    }
  });

  it("chorus scale creative 3 prints the manual event, and status then shows 3 running blocks", async () => {
    const { code, screen } = await chorus("scale", "creative", "3");
    assert.equal(code, 0, screen.join("\n"));
    assert.match(
      screen[0] ?? "",
      /^[\d:.]+ {2}creative +manual +1 -> 3 blocks .*\(chorus: set by hand to 3\)$/,
    );
    let line = await poolLine("creative");
    for (let i = 0; i < 40 && !line.includes("3 blocks (RUNNING 3)"); i++) {
      await delay(250);
      line = await poolLine("creative");
    }
    assert.match(line, /: 3 blocks \(RUNNING 3\), 12 slots/);
    assert.match(await poolLine("analytical"), /: 1 blocks \(RUNNING 1\)/, "other pools are left alone");
  });

  it("chorus scale-log --no-follow lists that pool's start and the manual scaling, then ends", async () => {
    const { code, screen } = await chorus("scale-log", "--pool", "creative", "--no-follow");
    assert.equal(code, 0, screen.join("\n"));
    const events = screen.filter(Boolean);
    assert.equal(events.length, 2, events.join("\n"));
    assert.match(events[0] ?? "", /creative +init +0 -> 1 blocks/);
    assert.match(events[1] ?? "", /creative +manual +1 -> 3 blocks .*set by hand to 3/);
  });

  it("chorus scale-log follows live scaling until Ctrl-C, which ends it with exit code 0", async () => {
    const follow = new Terminal(["scale-log", "--pool", "creative", "--address", mesh.address]);
    try {
      await follow.waitFor(/creative +manual +1 -> 3 blocks/);
      assert.equal((await chorus("scale", "creative", "2")).code, 0);
      await follow.waitFor(/creative +manual +3 -> 2 blocks .*set by hand to 2/);
      follow.interrupt();
      assert.equal(await follow.exit(), 0);
    } finally {
      await follow.kill();
    }
  });

  it("chorus scale names the problem of a count over max_blocks or an unknown pool, exit code 1", async () => {
    const over = await chorus("scale", "creative", "9");
    assert.equal(over.code, 1);
    assert.ok(
      over.screen.includes('chorus: INVALID_ARGUMENT: blocks: 9 exceeds max_blocks 4 of pool "creative"'),
      over.screen.join("\n"),
    );
    const unknown = await chorus("scale", "poet", "1");
    assert.equal(unknown.code, 1);
    assert.ok(
      unknown.screen.includes(
        'chorus: NOT_FOUND: pool: no agent pool named "poet" (pools: creative, analytical, balanced)',
      ),
      unknown.screen.join("\n"),
    );
    const usage = await chorus("scale", "creative", "two");
    assert.equal(usage.code, 2);
    assert.ok(usage.screen.includes("usage: chorus scale POOL N (N a whole number of blocks)"));
  });
});
