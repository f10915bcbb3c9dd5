import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { validateConfig } from "@chorus/config";
import {
  Health,
  HistoryService,
  HealthCheckResponse_ServingStatus as Serving,
  type Turn,
} from "@chorus/proto";
import { createClient, createLogger } from "@chorus/shared";
import { runHistory } from "./run-history.js";
import { sampleTurn } from "./testing/fixtures.js";

describe("runHistory", () => {
  let dir: string;
  const config = validateConfig({ security: { mesh: { mode: "off" } } }, "(test)");
  const log = createLogger("history-test", "silent");
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "chorus-history-run-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("serves the same data again after a restart on the same file", async () => {
    const path = join(dir, "nested", "data", "chorus.db");
    const options = { config, host: "127.0.0.1", port: 0, path, metricsPort: -1, log };

    const first = await runHistory(options);
    const writer = createClient(HistoryService, first.address);
    let turn: Turn | undefined;
    try {
      assert.equal(first.metricsPort, undefined);
      assert.ok(existsSync(path));
      turn = (await writer.appendTurn({ turn: sampleTurn("t1", "c1"), createConversation: true })).turn;
      await writer.appendTurn({ turn: sampleTurn("t2", "c1"), createConversation: false });
    } finally {
      writer.close();
      await first.close(1000);
    }

    const second = await runHistory(options);
    const reader = createClient(HistoryService, second.address);
    try {
      const conversation = await reader.getConversation({ conversationId: "c1" });
      assert.deepEqual(conversation.turns[0], turn);
      assert.deepEqual(
        conversation.turns.map((t) => [t.turnId, t.seq, t.agentAnswers.length]),
        [
          ["t1", 1, 3],
          ["t2", 2, 3],
        ],
      );
      const next = await reader.appendTurn({ turn: sampleTurn("t3", "c1"), createConversation: false });
      assert.equal(next.turn?.seq, 3);
    } finally {
      reader.close();
      await second.close(1000);
    }
  });

  it("reports health and store metrics on its metrics port", async () => {
    const running = await runHistory({
      config,
      host: "127.0.0.1",
      port: 0,
      path: join(dir, "metrics.db"),
      metricsPort: 0,
      log,
    });
    const health = createClient(Health, running.address);
    const client = createClient(HistoryService, running.address);
    try {
      const { status } = await health.check({ service: "chorus.v1.HistoryService" });
      assert.equal(status, Serving.SERVING);
      await client.appendTurn({ turn: sampleTurn("m1", "metrics"), createConversation: true });
      await client.appendTurn({ turn: sampleTurn("m1", "metrics"), createConversation: true });
      await client.getConversation({ conversationId: "metrics" });

      assert.ok(running.metricsPort !== undefined && running.metricsPort > 0);
      const text = await (await fetch(`http://127.0.0.1:${running.metricsPort}/metrics`)).text();
      assert.match(text, /^chorus_history_turns_stored_total\{service="history"\} 1$/m);
      assert.match(
        text,
        /^chorus_history_store_duration_seconds_count\{[^}]*operation="append_turn"[^}]*\} 2$/m,
      );
      assert.match(text, /^chorus_rpc_total\{[^}]*method="GetConversation"[^}]*\} 1$/m);
    } finally {
      health.close();
      client.close();
      await running.close(1000);
    }
  });
});
