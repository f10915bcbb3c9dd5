import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type RunningSimulator, startSimulator } from "@chorus/llm-sim";
import { AgentService, type TaskChannelResponse } from "@chorus/proto";
import { type BidiCall, createClient, type PromiseClient } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { type RunningAgent, runAgent } from "./run-agent.js";
import { eventually, inFlightBecomes, silent, soon, testConfig, zeroSimulator } from "./testing/test-rig.js";

const WORKERS = 2;
const config = {
  ...testConfig,
  agents: testConfig.agents.map((agent) => ({ ...agent, workers: WORKERS, max_tokens: 4096 })),
};

type Call = ReturnType<PromiseClient<typeof AgentService>["taskChannel"]>;

/** One task channel opened by hand, every message it received kept in order. */
class Channel {
  readonly messages: TaskChannelResponse[] = [];
  ended: unknown;
  private readonly call: Call;
  private nextId = 0;

  constructor(client: PromiseClient<typeof AgentService>) {
    this.call = client.taskChannel();
    void this.read(this.call);
  }

  private async read(call: BidiCall<unknown, TaskChannelResponse>) {
    try {
      for await (const message of call) this.messages.push(message);
      this.ended = "ok";
    } catch (err) {
      this.ended = err;
    }
  }

  task(message: string, options: { stream?: boolean; timeoutMs?: number } = {}): number {
    this.nextId += 1;
    const value = {
      taskId: this.nextId,
      request: { turnId: "t", message },
      stream: options.stream ?? false,
      timeoutMs: options.timeoutMs ?? 10_000,
    };
    this.call.write({ kind: { case: "task", value } });
    return this.nextId;
  }

  cancel(taskId: number): void {
    this.call.write({ kind: { case: "cancel", value: { taskId } } });
  }

  heartbeat(sequence: number): void {
    this.call.write({ kind: { case: "heartbeat", value: { sequence } } });
  }

  close(): void {
    this.call.cancel();
  }

  /** The result of `taskId`, once it has arrived. */
  async result(taskId: number) {
    let found: TaskChannelResponse | undefined;
    await eventually(`result of task ${taskId}`, () => {
      found = this.messages.find((m) => m.event.case === "result" && m.event.value.taskId === taskId);
      return found !== undefined;
    });
    const message = found ?? assert.fail();
    assert.equal(message.event.case, "result");
    return { message, outcome: message.event.value.outcome };
  }

  deltas(taskId: number): string[] {
    return this.messages.flatMap((m) =>
      m.event.case === "delta" && m.event.value.taskId === taskId ? [m.event.value.text] : [],
    );
  }
}

describe("an agent replica's task channel", () => {
  let sim: RunningSimulator;
  let agent: RunningAgent;
  let client: PromiseClient<typeof AgentService>;
  const channels: Channel[] = [];
  const open = () => {
    const channel = new Channel(client);
    channels.push(channel);
    return channel;
  };

  before(async () => {
    sim = await startSimulator({ ...zeroSimulator, tokens: 64, max_concurrent: 64 }, { record: 20 });
    agent = await runAgent({
      config,
      agent: "tester",
      host: "127.0.0.1",
      port: 0,
      replicaId: "tester-0",
      llmBaseUrl: sim.url,
      apiKey: "sim",
      metricsPort: -1,
      log: silent,
    });
    client = createClient(AgentService, agent.address);
  });
  after(async () => {
    for (const channel of channels) channel.close();
    client.close();
    await agent.close(100);
    await sim.close();
  });

  it("greets with its workers, and stamps every message with its free slots and the tasks received", async () => {
    const channel = open();
    const id = channel.task("Describe coral reefs.");
    const { message, outcome } = await channel.result(id);
    const first = channel.messages[0] ?? assert.fail();
    assert.equal(first.event.case, "ready");
    assert.equal(first.event.value.workers, WORKERS);
    assert.equal(first.event.value.replicaId, "tester-0");
    assert.equal(first.freeSlots, WORKERS);
    assert.equal(outcome.case, "response");
    assert.match(outcome.value.text, /^\[simulated\]/);
    assert.equal(message.freeSlots, WORKERS, "the result leaves after its slot is free again");
    assert.equal(message.tasksReceived, 1);
  });

  it("asks the model for a whole completion when nobody streams, and sends no deltas", async () => {
    const channel = open();
    const id = channel.task("A whole answer, please.");
    const { outcome } = await channel.result(id);
    assert.equal(outcome.case, "response");
    assert.deepEqual(channel.deltas(id), []);
    const asked = sim.received().find((r) => r.messages.at(-1)?.content === "A whole answer, please.");
    assert.equal(asked?.stream, false);
  });

  it("streams when asked, several tokens per delta, the deltas joined being the answer", async () => {
    const channel = open();
    const id = channel.task("Stream it.", { stream: true });
    const { outcome } = await channel.result(id);
    assert.equal(outcome.case, "response");
    const deltas = channel.deltas(id);
    assert.equal(deltas.join(""), outcome.value.text);
    assert.equal(outcome.value.completionTokens, 64);
    // The simulator sends the 64 tokens at once: one message per token would be 64 deltas.
    assert.ok(deltas.length >= 1 && deltas.length <= 8, `${deltas.length} deltas for 64 tokens`);
    assert.equal(sim.received().find((r) => r.messages.at(-1)?.content === "Stream it.")?.stream, true);
  });

  it("refuses a task beyond its free slots at once (RESOURCE_EXHAUSTED), and a cancelled task frees its slot", async () => {
    await sim.close();
    sim = await startSimulator({ ...zeroSimulator, ttft_ms: 60_000, max_concurrent: 64 }, { record: 20 });
    await agent.close(100);
    agent = await runAgent({
      config,
      agent: "tester",
      host: "127.0.0.1",
      port: 0,
      replicaId: "tester-0",
      llmBaseUrl: sim.url,
      apiKey: "sim",
      metricsPort: -1,
      log: silent,
    });
    client.close();
    client = createClient(AgentService, agent.address);
    const channel = open();
    const running = [channel.task("one"), channel.task("two")];
    await inFlightBecomes(client, WORKERS);
    const extra = channel.task("three");
    const refused = await channel.result(extra);
    assert.equal(refused.outcome.case, "error");
    assert.equal(refused.outcome.value.code, status.RESOURCE_EXHAUSTED);
    assert.equal(refused.message.freeSlots, 0);
    // Heartbeats are echoed while every worker is busy.
    channel.heartbeat(41);
    await eventually("the echo", () =>
      channel.messages.some((m) => m.event.case === "heartbeat" && m.event.value.sequence === 41),
    );
    channel.cancel(running[0] ?? 0);
    const cancelled = await channel.result(running[0] ?? 0);
    assert.equal(cancelled.outcome.case, "error");
    assert.equal(cancelled.outcome.value.code, status.CANCELLED);
    assert.equal(cancelled.message.freeSlots, 1, "the cancelled task's slot is free when its result leaves");
    await inFlightBecomes(client, 1);
  });

  it("tells a slot freed outside the channel as a credit", async () => {
    const stopping = new AbortController();
    const call = client.generate({ message: "held" }, { deadline: soon(), signal: stopping.signal });
    call.catch(() => {});
    // One slot is still held by the task that was not cancelled above, the other by this call.
    await eventually("the Generate call runs", async () => (await client.describe({})).inFlight === 2);
    const channel = open();
    await eventually("ready", () => channel.messages.length > 0);
    assert.equal(channel.messages[0]?.freeSlots, 0);
    stopping.abort();
    await eventually("a credit", () =>
      channel.messages.some((m) => m.event.case === "credit" && m.freeSlots === 1),
    );
  });

  it("carries a task's deadline: a task past it ends DEADLINE_EXCEEDED and frees its slot", async () => {
    const channel = open();
    const id = channel.task("too slow", { timeoutMs: 150 });
    const { message, outcome } = await channel.result(id);
    assert.equal(outcome.case, "error");
    assert.equal(outcome.value.code, status.DEADLINE_EXCEEDED, outcome.value.message);
    assert.equal(message.freeSlots, 1, "one slot is still held by the earlier task");
  });

  it("on shutdown refuses new tasks and ends once its running task is done, without waiting out the grace", async () => {
    await sim.close();
    sim = await startSimulator({ ...zeroSimulator, ttft_ms: 300, ttft_std_ms: 0, max_concurrent: 64 });
    const replica = await runAgent({
      config,
      agent: "tester",
      host: "127.0.0.1",
      port: 0,
      replicaId: "tester-1",
      llmBaseUrl: sim.url,
      apiKey: "sim",
      metricsPort: -1,
      log: silent,
    });
    const own = createClient(AgentService, replica.address);
    try {
      const channel = new Channel(own);
      const id = channel.task("finish me");
      await inFlightBecomes(own, 1);
      const started = performance.now();
      const closing = replica.close(10_000);
      await sleep(20);
      const refused = channel.task("too late");
      await closing;
      const closeMs = performance.now() - started;
      assert.ok(closeMs < 5000, `close took ${closeMs.toFixed(0)} ms of its 10 s grace`);
      assert.equal((await channel.result(id)).outcome.case, "response", "the running task finished");
      const late = (await channel.result(refused)).outcome;
      assert.equal(late.case, "error");
      assert.equal(late.value.code, status.UNAVAILABLE);
      await eventually("the channel ends", () => channel.ended !== undefined);
      assert.equal(channel.ended, "ok");
    } finally {
      own.close();
    }
  });
});
