import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { validateConfig } from "@chorus/config";
import { runHistory } from "@chorus/history";
import { HistoryService } from "@chorus/proto";
import { createClient, createLogger, type RpcOptions } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { callHistory } from "./history-call.js";
import { grpcTurnHistory, HISTORY_CHANNEL_OPTIONS, type HistoryCalls } from "./turn-history.js";

/** A TCP relay whose open connections can be frozen (bytes stop, sockets stay open) or dropped. */
class Relay {
  readonly server: Server;
  private readonly open = new Set<Socket>();
  private readonly sockets = new Set<Socket>();
  connections = 0;

  constructor(target: { host: string; port: number }) {
    this.server = createServer((client) => {
      this.connections++;
      const upstream = createConnection(target);
      this.open.add(client);
      this.sockets.add(client);
      client.on("data", (chunk) => upstream.write(chunk));
      upstream.on("data", (chunk) => {
        if (this.open.has(client)) client.write(chunk);
      });
      client.on("close", () => {
        this.sockets.delete(client);
        upstream.destroy();
      });
      upstream.on("close", () => client.destroy());
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
    });
  }

  /** Stops answering on every connection open now (a half-open peer, as seen by the client). */
  freeze(): void {
    this.open.clear();
  }

  /** Resets every connection open now (a peer that died). */
  drop(): void {
    for (const socket of this.sockets) socket.resetAndDestroy();
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

function turn(turnId: string, conversationId = "c-retry") {
  return {
    turnId,
    conversationId,
    message: "question",
    answer: "answer",
    agentAnswers: [{ agent: "creative", text: "answer", ok: true, attempts: 1 }],
  };
}

const config = validateConfig({ security: { mesh: { mode: "off" } } }, "(test)");
const log = createLogger("history-call-test", "silent");
const soon = (ms: number) => new Date(Date.now() + ms);
const write =
  (request: { turn: ReturnType<typeof turn>; createConversation: boolean }) =>
  (h: HistoryCalls, options: RpcOptions) =>
    h.appendTurn(request, options);

describe("callHistory", () => {
  let dir: string;
  let history: Awaited<ReturnType<typeof runHistory>>;
  let relay: Relay;
  let address: string;
  const startHistory = (port: number) =>
    runHistory({ config, host: "127.0.0.1", port, path: join(dir, "chorus.db"), metricsPort: 0, log });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "chorus-history-call-"));
    history = await startHistory(0);
    const port = Number(history.address.split(":").pop());
    relay = new Relay({ host: "127.0.0.1", port });
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
    const client = createClient(HistoryService, address, HISTORY_CHANNEL_OPTIONS);
    try {
      const options = { timeoutMs: 1500, deadline: soon(10_000), requestId: "r1", metadata: {}, log };
      const h = grpcTurnHistory(client);
      await callHistory(h, write({ turn: turn("t-before"), createConversation: true }), options);
      const dialled = relay.connections;
      relay.freeze();
      const stored = await callHistory(
        h,
        write({ turn: turn("t-after"), createConversation: false }),
        options,
      );
      assert.equal(stored.turn?.turnId, "t-after");
      assert.equal(relay.connections, dialled + 1, "the retry dialled a new connection");
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

  it("retries a call whose connection was reset under it, on the same client once it reconnects", async () => {
    const client = createClient(HistoryService, address, HISTORY_CHANNEL_OPTIONS);
    try {
      const h = grpcTurnHistory(client);
      const options = { timeoutMs: 5000, deadline: soon(10_000), requestId: "r3", metadata: {}, log };
      await callHistory(h, write({ turn: turn("t-reset-0", "c-reset"), createConversation: true }), options);
      relay.freeze();
      const pending = callHistory(
        h,
        write({ turn: turn("t-reset-1", "c-reset"), createConversation: false }),
        {
          ...options,
          timeoutMs: 5000,
        },
      );
      await delay(200);
      relay.drop();
      const stored = await pending;
      assert.equal(stored.turn?.turnId, "t-reset-1");
    } finally {
      client.close();
    }
  });

  it("waits for history to come back on its port within the deadline, and reconnects within a second of it", async () => {
    const port = Number(history.address.split(":").pop());
    const client = createClient(HistoryService, history.address, HISTORY_CHANNEL_OPTIONS);
    try {
      const h = grpcTurnHistory(client);
      const options = { timeoutMs: 5000, deadline: soon(15_000), requestId: "r4", metadata: {}, log };
      await callHistory(h, write({ turn: turn("t-down-0", "c-down"), createConversation: true }), options);
      await history.close(0);
      const pending = callHistory(
        h,
        write({ turn: turn("t-down-1", "c-down"), createConversation: false }),
        options,
      );
      // Down long enough for grpc-js's default backoff (1 s, x1.6) to leave the channel waiting ~2 s more.
      await delay(3000);
      history = await startHistory(port);
      const back = Date.now();
      const stored = await pending;
      const waited = Date.now() - back;
      assert.equal(stored.turn?.turnId, "t-down-1");
      assert.ok(waited < 1000, `stored ${waited} ms after history was back`);
    } finally {
      client.close();
    }
  });

  it("does not retry a write history rejected", async () => {
    const client = createClient(HistoryService, history.address);
    try {
      const before = await appendTurnsHandled(history.metricsPort);
      await assert.rejects(
        callHistory(
          grpcTurnHistory(client),
          (h, options) => h.appendTurn({ turn: { turnId: "" } }, options),
          {
            timeoutMs: 1500,
            deadline: soon(10_000),
            requestId: "r2",
            metadata: {},
            log,
          },
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
