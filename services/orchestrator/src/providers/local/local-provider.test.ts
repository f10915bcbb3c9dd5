import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createLogger } from "@chorus/shared";
import { hostLimit, LocalProvider } from "./local-provider.js";

describe("hostLimit", () => {
  it("is eight agent processes per CPU when provider.local.max_agent_blocks is 0", () => {
    assert.deepEqual(hostLimit(0, 2), {
      maxBlocks: 16,
      source: "8 per CPU: 2 CPUs (provider.local.max_agent_blocks 0)",
    });
  });

  it("is the configured number otherwise, however many CPUs there are", () => {
    assert.deepEqual(hostLimit(12, 2), { maxBlocks: 12, source: "provider.local.max_agent_blocks" });
  });
});

describe("LocalProvider's room on a busy host", () => {
  it("has none while the CPUs are at least max_cpu_busy busy, and what the CPU gate allows otherwise", async () => {
    let busy = 0.9;
    const provider = new LocalProvider(
      { modulePath: "unused.mjs", args: [], execArgv: [], env: {} },
      60_000,
      createLogger("local-provider-test", "silent"),
      undefined,
      { ...hostLimit(3, 2), cpu: { busy: () => busy, max: 0.85 } },
    );
    assert.deepEqual(provider.room(), {
      blocks: 0,
      limit:
        "the host's CPUs are 90% busy (provider.local.max_cpu_busy 85%): another agent process would not add throughput; 0 run",
    });
    busy = 0;
    // Never more than the count allows (3), nor than the idle CPUs' worth the gate allows.
    const room = provider.room().blocks;
    assert.ok(room >= 1 && room <= 3, `room ${room}`);
    await provider.close();
  });
});

describe("LocalProvider's room on the host", () => {
  const dir = mkdtempSync(join(tmpdir(), "chorus-local-provider-"));
  // A stand-in agent process: it never reports ready, and stops on SIGTERM.
  const idle = join(dir, "idle.mjs");
  writeFileSync(idle, "setInterval(() => {}, 1000); process.on('SIGTERM', () => process.exit(0));\n");
  const provider = new LocalProvider(
    { modulePath: idle, args: [], execArgv: [], env: {} },
    60_000,
    createLogger("local-provider-test", "silent"),
    undefined,
    hostLimit(3, 2),
  );
  after(async () => {
    await provider.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("counts the agent processes of every pool until they have exited", async () => {
    assert.equal(provider.room().blocks, 3);
    const [first] = provider.launch("a", 1);
    provider.launch("b", 1);
    assert.deepEqual(provider.room(), {
      blocks: 1,
      limit: "this host runs at most 3 agent processes, provider.local.max_agent_blocks; 2 run",
    });
    provider.launch("a", 2);
    assert.equal(provider.room().blocks, 0, "never below 0, even when init or min_blocks went past it");
    await provider.cancel([first ?? assert.fail()]);
    assert.equal(provider.room().blocks, 0, "3 processes still run");
    await provider.close();
    assert.equal(provider.room().blocks, 3);
  });
});
