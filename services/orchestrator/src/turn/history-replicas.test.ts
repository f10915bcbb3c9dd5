import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { HistoryService } from "@chorus/proto";
import {
  bind,
  createLogger,
  RpcError,
  type RunningServer,
  type ServiceHandlers,
  serve,
} from "@chorus/shared";
import { freePort } from "@chorus/shared/testing";
import { status } from "@grpc/grpc-js";
import { historyReplicas, historyTargets } from "./history-replicas.js";

const log = createLogger("history-replicas-test", "silent");

/** A history replica that answers every GetTurn with its own name, and counts what it was asked. */
async function replica(name: string, host = "127.0.0.1", port = 0) {
  const calls: string[] = [];
  const unused = async () => {
    throw new RpcError(status.UNIMPLEMENTED, "not in this test");
  };
  const handlers: ServiceHandlers<typeof HistoryService> = {
    appendTurn: unused,
    claimTurn: unused,
    releaseTurn: unused,
    prepareTurn: unused,
    async *appendTurns() {
      yield* [];
      await unused();
    },
    listConversations: unused,
    searchTurns: unused,
    deleteConversation: unused,
    async getTurn(request) {
      calls.push(request.turnId);
      if (request.turnId === "missing") throw new RpcError(status.NOT_FOUND, `turn "missing" not found`);
      return { turn: { turnId: request.turnId, conversationId: name } };
    },
    async getConversation(request) {
      calls.push(request.conversationId);
      return { conversation: { conversationId: request.conversationId, title: name } };
    },
    async *exportConversation(request) {
      calls.push(request.conversationId);
      for (let seq = 1; seq <= 3; seq++) yield { turn: { conversationId: name, seq } };
    },
  };
  const server: RunningServer = await serve({ host, port, services: [bind(HistoryService, handlers)], log });
  return { name, address: server.address, port: server.port, calls, close: () => server.close(0) };
}

type Replica = Awaited<ReturnType<typeof replica>>;
const deadline = () => new Date(Date.now() + 5000);

describe("historyReplicas", () => {
  const running: Replica[] = [];
  const start = async (...args: Parameters<typeof replica>) => {
    const r = await replica(...args);
    running.push(r);
    return r;
  };
  after(async () => {
    for (const r of running) await r.close();
  });

  it("spreads calls round-robin over every replica: 30 reads, 10 on each of three", async () => {
    const replicas = await Promise.all(["a", "b", "c"].map((name) => start(name)));
    const client = historyReplicas(
      replicas.map((r) => r.address),
      { log },
    );
    try {
      for (let i = 0; i < 30; i++) await client.getTurn({ turnId: `t${i}` }, { deadline: deadline() });
      assert.deepEqual(
        replicas.map((r) => r.calls.length),
        [10, 10, 10],
      );
    } finally {
      client.close();
    }
  });

  it("goes to another replica at once when one is down, even for calls that wait for a connection", async () => {
    const [up, down] = [await start("up"), await start("down")];
    await down.close();
    const client = historyReplicas([down.address, up.address], { log, downMs: 60_000 });
    try {
      const started = performance.now();
      for (let i = 0; i < 20; i++) {
        const { turn } = await client.getTurn(
          { turnId: `w${i}` },
          { deadline: deadline(), waitForReady: true },
        );
        assert.equal(turn?.conversationId, "up");
      }
      assert.equal(up.calls.length, 20);
      assert.ok(performance.now() - started < 2000, `took ${Math.round(performance.now() - started)} ms`);
      const exported = [];
      for await (const item of client.exportConversation({ conversationId: "c" }, { deadline: deadline() }))
        exported.push(item.turn?.conversationId);
      assert.deepEqual(exported, ["up", "up", "up"]);
    } finally {
      client.close();
    }
  });

  it("passes history's own answers through without asking another replica", async () => {
    const replicas = [await start("x"), await start("y")];
    const client = historyReplicas(
      replicas.map((r) => r.address),
      { log },
    );
    try {
      await assert.rejects(client.getTurn({ turnId: "missing" }, { deadline: deadline() }), {
        code: status.NOT_FOUND,
      });
      assert.equal(
        replicas.reduce((sum, r) => sum + r.calls.length, 0),
        1,
      );
    } finally {
      client.close();
    }
  });

  it("follows a name that resolves to several addresses, and replicas that appear later", async () => {
    // One port on three loopback addresses: what a headless Service's name gives.
    const port = await freePort();
    const [one, two, three] = [
      await start("one", "127.0.0.1", port),
      await start("two", "127.0.0.2", port),
      await start("three", "127.0.0.3", port),
    ];
    let records = ["127.0.0.1", "127.0.0.2"];
    const client = historyReplicas([`history.test:${port}`], {
      log,
      lookup: async (host) => (host === "history.test" ? records : []),
      refreshMs: 50,
    });
    try {
      const names = async (n: number) => {
        const seen = new Set<string>();
        for (let i = 0; i < n; i++)
          seen.add(
            (await client.getConversation({ conversationId: `c${i}` }, { deadline: deadline() })).conversation
              ?.title ?? "",
          );
        return [...seen].sort();
      };
      assert.deepEqual(await names(4), ["one", "two"]);
      records = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(await names(6), ["one", "three", "two"]);
      assert.deepEqual((await client.replicas()).sort(), [
        `127.0.0.1:${port}`,
        `127.0.0.2:${port}`,
        `127.0.0.3:${port}`,
      ]);
      records = ["127.0.0.3"];
      await new Promise((resolve) => setTimeout(resolve, 200));
      const before = one.calls.length + two.calls.length;
      assert.deepEqual(await names(3), ["three"]);
      assert.equal(one.calls.length + two.calls.length, before);
      assert.ok(three.calls.length > 0);
    } finally {
      client.close();
    }
  });

  it("gives a turn a new connection to the replicas on reconnect, which works and closes on its own", async () => {
    const r = await start("fresh");
    const client = historyReplicas([r.address], { log });
    try {
      const history = client.turnHistory();
      await history.getTurn({ turnId: "shared" }, { deadline: deadline() });
      const connection = history.reconnect();
      assert.equal(
        (await connection.getTurn({ turnId: "own" }, { deadline: deadline() })).turn?.conversationId,
        "fresh",
      );
      connection.close();
      assert.deepEqual(r.calls, ["shared", "own"]);
    } finally {
      client.close();
    }
  });

  it("takes the flag, else history.addresses, else history.address, else host:port", () => {
    const history = {
      host: "127.0.0.1",
      port: 50052,
      address: undefined as string | undefined,
      addresses: [] as string[],
    };
    const of = (flag: string | undefined, h: Partial<typeof history>) =>
      historyTargets(flag, { ...history, ...h } as unknown as Parameters<typeof historyTargets>[1]);
    assert.deepEqual(of("f:1", { addresses: ["a:1"], address: "b:1" }), ["f:1"]);
    assert.deepEqual(of(undefined, { addresses: ["a:1", "a:2"], address: "b:1" }), ["a:1", "a:2"]);
    assert.deepEqual(of(undefined, { address: "b:1" }), ["b:1"]);
    assert.deepEqual(of(undefined, {}), ["127.0.0.1:50052"]);
  });
});
