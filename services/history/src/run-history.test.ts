import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type ChorusConfig, validateConfig } from "@chorus/config";
import {
  Health,
  HistoryService,
  HealthCheckResponse_ServingStatus as Serving,
  type Turn,
} from "@chorus/proto";
import { createClient, createLogger } from "@chorus/shared";
import { runHistory } from "./run-history.js";
import { sampleTurn } from "./testing/fixtures.js";
import { type PostgresServer, startPostgresServer } from "./testing/postgres-server.js";

describe("runHistory", () => {
  let dir: string;
  const meshOff = { security: { mesh: { mode: "off" } } };
  const config = validateConfig(meshOff, "(test)");
  const log = createLogger("history-test", "silent");
  let postgres: PostgresServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "chorus-history-run-"));
    postgres = await startPostgresServer();
  });
  after(async () => {
    await postgres?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The config of each backend: a SQLite file, or a database whose URL is in a file (as from a Secret). */
  const backends: Array<[string, () => Promise<{ config: ChorusConfig; stored: () => boolean }>]> = [
    [
      "a SQLite file",
      async () => ({ config, stored: () => existsSync(join(dir, "nested", "data", "chorus.db")) }),
    ],
    [
      "a PostgreSQL database named by history.postgres.url_file",
      async () => {
        const urlFile = join(dir, "database-url");
        writeFileSync(urlFile, `${await postgres.createDatabase()}\n`);
        const history = { backend: "postgres", postgres: { url_file: urlFile } };
        return { config: validateConfig({ ...meshOff, history }, "(test)"), stored: () => true };
      },
    ],
  ];
  for (const [name, setup] of backends)
    it(`serves the same data again after a restart on ${name}`, async () => {
      const path = join(dir, "nested", "data", "chorus.db");
      const { config, stored } = await setup();
      const options = { config, host: "127.0.0.1", port: 0, path, metricsPort: -1, log };

      const first = await runHistory(options);
      const writer = createClient(HistoryService, first.address);
      let turn: Turn | undefined;
      try {
        assert.equal(first.metricsPort, undefined);
        assert.ok(stored());
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

  it("ends an open AppendTurns stream cleanly when it shuts down, after answering what it read", async () => {
    const running = await runHistory({
      config,
      host: "127.0.0.1",
      port: 0,
      path: join(dir, "closing.db"),
      metricsPort: -1,
      log,
    });
    const client = createClient(HistoryService, running.address);
    try {
      const stream = client.appendTurns();
      stream.write({ id: 1n, append: { turn: sampleTurn("s1", "closing"), createConversation: true } });
      const replies: bigint[] = [];
      const read = (async () => {
        for await (const reply of stream) {
          replies.push(reply.id);
          if (replies.length === 1) void running.close(5_000);
        }
        return "ended";
      })();
      // A stream held open until the grace ran out would be cut (an error), not ended.
      assert.equal(await read, "ended");
      assert.deepEqual(replies, [1n]);
    } finally {
      client.close();
      await running.close(0);
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
        /^chorus_history_store_duration_seconds_count\{[^}]*operation="append_turns"[^}]*\} 2$/m,
        "each append group-committed (one at a time here: one transaction each)",
      );
      assert.match(text, /^chorus_history_commit_batch_size_sum\{service="history"\} 2$/m);
      assert.match(text, /^chorus_rpc_total\{[^}]*method="GetConversation"[^}]*\} 1$/m);
    } finally {
      health.close();
      client.close();
      await running.close(1000);
    }
  });
});
