import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { validateConfig } from "@chorus/config";
import { runHistory } from "@chorus/history";
import { HistoryService } from "@chorus/proto";
import { createClient, createLogger } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { appendTurnWithRetry } from "./history-write.js";
import { grpcTurnHistory } from "./turn-history.js";

/** A TCP relay whose open connections can be frozen: bytes stop flowing, sockets stay open. */
class FreezableRelay {
  readonly server: Server;
  private readonly open = new Set<Socket>();
  connections = 0;

  constructor(target: { host: string; port: number }) {
    this.server = createServer((client) => {
      this.connections++;
      const upstream = createConnection(target);
      this.open.add(client);
      client.on("data", (chunk) => upstream.write(chunk));
      upstream.on("data", (chunk) => {
        if (this.open.has(client)) client.write(chunk);
      });
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
    });
  }

  /** Stops answering on every connection open now (a half-open peer, as seen by the client). */
  freeze(): void {
    this.open.clear();
  }
}

/** AppendTurn calls the history service handled, by status code name (scraped from its /metrics). */
async function appendTurnsHandled(metricsPort: number | undefined): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const [, code, value] of text.matchAll(
    /^chorus_rpc_total\{(?=[^}]*method="AppendTurn")[^}]*code="(\d+)"[^}]*\} (\d+)$/gm,
  )) {
    counts.set(code ?? "", Number(value));
  }
  return counts;
}

function turn(turnId: string) {
  return {
    turnId,
    conversationId: "c-retry",
    message: "question",
    answer: "answer",
    agentAnswers: [{ agent: "creative", text: "answer", ok: true, attempts: 1 }],
  };
}

describe("appendTurnWithRetry", () => {
  const config = validateConfig({ security: { mesh: { mode: "off" } } }, "(test)");
  const log = createLogger("history-write-test", "silent");
  let dir: string;
  let history: Awaited<ReturnType<typeof runHistory>>;
  let relay: FreezableRelay;
  let address: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "chorus-history-write-"));
    history = await runHistory({
      config,
      host: "127.0.0.1",
      port: 0,
      path: join(dir, "chorus.db"),
      metricsPort: 0,
      log,
    });
    const port = Number(history.address.split(":").pop());
    relay = new FreezableRelay({ host: "127.0.0.1", port });
    await new Promise<void>((resolve) => relay.server.listen(0, "127.0.0.1", resolve));
    const relayAddress = relay.server.address();
    assert.ok(relayAddress && typeof relayAddress === "object");
    address = `127.0.0.1:${relayAddress.port}`;
  });

  after(async () => {
    relay.server.close();
    await history.close(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  it("stores a turn written through a connection that stops answering, on a new connection", async () => {
    const client = createClient(HistoryService, address);
    try {
      const options = { timeoutMs: 1500, requestId: "r1", metadata: {}, log };
      await appendTurnWithRetry(
        grpcTurnHistory(client),
        { turn: turn("t-before"), createConversation: true },
        options,
      );
      assert.equal(relay.connections, 1);
      relay.freeze();
      const stored = await appendTurnWithRetry(
        grpcTurnHistory(client),
        { turn: turn("t-after"), createConversation: false },
        options,
      );
      assert.equal(stored.turn?.turnId, "t-after");
      assert.equal(relay.connections, 2, "the retry dialled a new connection");
      const reader = createClient(HistoryService, history.address);
      const conversation = await reader.getConversation({ conversationId: "c-retry" });
      reader.close();
      assert.deepEqual(
        conversation.turns.map((t) => t.turnId),
        ["t-before", "t-after"],
      );
    } finally {
      client.close();
    }
  });

  it("does not retry a write history rejected", async () => {
    const client = createClient(HistoryService, history.address);
    try {
      const before = await appendTurnsHandled(history.metricsPort);
      await assert.rejects(
        appendTurnWithRetry(
          grpcTurnHistory(client),
          { turn: { turnId: "" } },
          { timeoutMs: 1500, requestId: "r2", metadata: {}, log },
        ),
        (err: Error & { code?: number }) => err.code === status.INVALID_ARGUMENT,
      );
      const after = await appendTurnsHandled(history.metricsPort);
      const invalid = String(status.INVALID_ARGUMENT);
      assert.equal((after.get(invalid) ?? 0) - (before.get(invalid) ?? 0), 1, "history rejected one call");
      const total = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0);
      assert.equal(total(after) - total(before), 1, "exactly one AppendTurn reached history");
    } finally {
      client.close();
    }
  });
});
