import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { ChatService } from "@chorus/proto";
import {
  bind,
  createClient,
  createLogger,
  type PromiseClient,
  RETRY_AFTER_KEY,
  type RunningServer,
  serve,
} from "@chorus/shared";
import { type ServiceError, status } from "@grpc/grpc-js";
import { Scaler } from "../scaler/scaler.js";
import { ScalingEvents } from "../scaler/scaling-events.js";
import { FakeProvider } from "../testing/fake-provider.js";
import { type TurnRig, turnRig } from "../testing/turn-rig.js";
import { auditLog } from "./auth/audit.js";
import { MemoryCounterStore } from "./limits/memory-counter-store.js";
import { PrincipalLimiter } from "./limits/principal-limiter.js";
import { chatHandlers } from "./service.js";

type ChatClient = PromiseClient<typeof ChatService>;

const log = createLogger("admission-service-test", "silent");
const within = () => ({ deadline: new Date(Date.now() + 10_000) });

/** ChatService handlers over the rig's fake agents and history, served on 127.0.0.1:0 without auth. */
async function startServer(rig: TurnRig): Promise<RunningServer> {
  const { config } = rig;
  const pools = new Map();
  const events = new ScalingEvents();
  const limiter = new PrincipalLimiter(new MemoryCounterStore(), {
    defaults: config.security.auth.limits,
    turnTimeoutMs: config.orchestrator.turn_timeout_ms,
  });
  const handlers = chatHandlers(
    rig.deps,
    {
      config,
      pools,
      cache: undefined,
      historyAddress: "",
      llmBaseUrl: "",
      llmApiKey: "",
      version: "test",
      settingsOf: (pool) => pool.agent.scaling,
    },
    { scaler: new Scaler(pools, new FakeProvider(), events, { log }), events },
    {
      recorder: rig.recorder,
      pools,
      historyAddress: "",
      historyUsage: { getUsage: async () => ({}) as never },
    },
    { authEnabled: false, audit: auditLog(log), limiter },
  );
  return serve({ host: "127.0.0.1", port: 0, log, services: [bind(ChatService, handlers)] });
}

/** A server over fake agents taking `delayMs` a task, with `orchestrator` settings; clients on connections of their own. */
async function withServer(
  orchestrator: Record<string, number>,
  delayMs: number,
  test: (connect: () => ChatClient, rig: TurnRig) => Promise<void>,
): Promise<void> {
  const slow = { delayMs };
  const rig = turnRig({
    config: { orchestrator },
    agents: { creative: slow, analytical: slow, balanced: slow },
  });
  const server = await startServer(rig);
  const clients: ChatClient[] = [];
  // A keyless run tells callers apart by peer address: each client gets a connection of its own.
  const connect = () => {
    const client = createClient(ChatService, server.address, { "grpc.use_local_subchannel_pool": 1 });
    clients.push(client);
    return client;
  };
  try {
    await test(connect, rig);
  } finally {
    for (const client of clients) client.close();
    await server.close(1000);
  }
}

describe("ChatService admission over gRPC", () => {
  it("admits a Batch's items as turns, one at a time under max_concurrent_turns 1, and another client's Chat ahead of its backlog", () =>
    withServer({ max_concurrent_turns: 1, admission_queue_limit: 10 }, 400, async (connect, rig) => {
      const [batcher, chatter] = [connect(), connect()];
      const order: string[] = [];
      const messages = ["b0", "b1", "b2", "b3"];
      const batch = (async () => {
        for await (const event of batcher.batch({ messages, agents: ["creative"] }, within())) {
          if (event.event.case === "item") order.push(event.event.value.message);
        }
      })();
      // While b1 runs (400-800 ms), b2 and b3 wait: the Chat arrives behind them.
      await delay(600);
      await chatter.chat({ message: "chat", agents: ["analytical"] }, within());
      order.push("chat");
      await batch;
      assert.equal(rig.concurrency.peak, 1, "one turn in flight at a time");
      assert.deepEqual(order, ["b0", "b1", "chat", "b2", "b3"]);
    }));

  it("sheds the newest turn of the client with the most waiting with RESOURCE_EXHAUSTED and a retry-after-ms trailer", () =>
    withServer({ max_concurrent_turns: 1, admission_queue_limit: 1 }, 300, async (connect) => {
      const [busy, other] = [connect(), connect()];
      const running = busy.chat({ message: "running", agents: ["creative"] }, within());
      await delay(50);
      const waiting = busy.chat({ message: "waiting", agents: ["creative"] }, within());
      await delay(50);
      const newcomer = other.chat({ message: "newcomer", agents: ["creative"] }, within());
      await assert.rejects(waiting, (err: ServiceError) => {
        assert.equal(err.code, status.RESOURCE_EXHAUSTED);
        assert.match(err.details, /admission_queue_limit/);
        assert.ok(Number(err.metadata.get(RETRY_AFTER_KEY)[0]) > 0, "a retry hint in the trailer");
        return true;
      });
      assert.deepEqual((await running).answeredBy, ["creative"]);
      assert.deepEqual((await newcomer).answeredBy, ["creative"]);
    }));
});
