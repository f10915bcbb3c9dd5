import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { validateConfig } from "@chorus/config";
import { HistoryService } from "@chorus/proto";
import { createClient, createLogger } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { runHistory } from "./run-history.js";
import { sampleTurn } from "./testing/fixtures.js";

function refused(details: RegExp) {
  return (err: { code: number; details: string }) => {
    assert.equal(err.code, status.RESOURCE_EXHAUSTED, err.details);
    assert.match(err.details, details);
    return true;
  };
}

describe("history's request limits", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "chorus-history-limits-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads a turn up to limits.max_turn_bytes; a larger turn, or any other request over 16 KiB, is RESOURCE_EXHAUSTED", async () => {
    const config = validateConfig(
      { security: { mesh: { mode: "off" } }, limits: { max_turn_bytes: 64 * 1024 } },
      "(test)",
    );
    const running = await runHistory({
      config,
      host: "127.0.0.1",
      port: 0,
      path: join(dir, "limits.db"),
      metricsPort: -1,
      log: createLogger("history-test", "silent"),
    });
    const client = createClient(HistoryService, running.address);
    try {
      // Larger than the 16 KiB every small request gets: only AppendTurn's own bound lets it in.
      const big = await client.appendTurn({
        turn: sampleTurn("big", "limits", { answer: "a".repeat(40_000) }),
        createConversation: true,
      });
      assert.equal(big.turn?.answer.length, 40_000);
      await assert.rejects(
        client.appendTurn({
          turn: sampleTurn("bigger", "limits", { answer: "a".repeat(100_000) }),
          createConversation: false,
        }),
        refused(/larger than max \(100\d{3} vs 65536\)/),
      );
      await assert.rejects(
        client.getTurn({ turnId: "t".repeat(20_000) }),
        refused(/^request is 200\d{2} bytes; chorus\.v1\.HistoryService\/GetTurn accepts at most 16384$/),
      );
    } finally {
      client.close();
      await running.close(1000);
    }
  });
});
