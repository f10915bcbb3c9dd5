import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { asOrchestrator, type ChorusUp, startChorusUp } from "@chorus/cli/testing";
import { AgentService, type ChatResponse, ChatService } from "@chorus/proto";
import { createClient, type PromiseClient } from "@chorus/shared";
import { ScalingWatcher } from "./testing/scaling-watcher.js";

const TURNS = 40;
const soon = () => ({ deadline: new Date(Date.now() + 90_000) });

/** One pool of 2-worker blocks, 0..4 blocks, with short periods so the test sees it grow and shrink. */
function meshConfig(maxIdletime: number) {
  return {
    // About one second per generation, so 40 turns keep 4 blocks busy for a while.
    simulator: { ttft_ms: 900, ttft_std_ms: 0, itl_ms: 5, itl_std_ms: 0, tokens: 20 },
    cache: { enabled: false },
    // The blocks mostly wait on the model, so four fit even a host whose CPUs would cap them lower.
    // The strategy is under test, not the CPU gate: a busy test machine must not hold the step back.
    provider: { local: { max_agent_blocks: 4, max_cpu_busy: 1 } },
    agents: [
      {
        name: "solo",
        temperature: 0.5,
        max_tokens: 200,
        system_prompt: "You are a helpful assistant.",
        workers: 2,
        scaling: {
          strategy: "chorus",
          init_blocks: 1,
          min_blocks: 0,
          max_blocks: 4,
          strategy_period: 0.5,
          max_idletime: maxIdletime,
        },
      },
    ],
  };
}

function sendTurns(chat: PromiseClient<typeof ChatService>, label: string): Promise<ChatResponse>[] {
  return Array.from({ length: TURNS }, (_, i) => chat.chat({ message: `${label} question ${i}` }, soon()));
}

function assertAnswered(responses: readonly ChatResponse[]) {
  for (const response of responses) {
    const answer = response.agentAnswers[0];
    assert.equal(answer?.ok, true, answer?.error);
  }
}

describe("a chorus pool under a load step", { timeout: 180_000 }, () => {
  let mesh: ChorusUp;
  let chat: PromiseClient<typeof ChatService>;
  let watcher: ScalingWatcher;
  before(async () => {
    mesh = await startChorusUp(meshConfig(2));
    chat = createClient(ChatService, mesh.address);
    watcher = new ScalingWatcher(mesh.address);
  });
  after(async () => {
    await watcher.stop();
    chat.close();
    await mesh.stop();
  });

  it("grows to max_blocks, answers every turn on the first attempt, then returns to min_blocks", async () => {
    const responses = await Promise.all(sendTurns(chat, "load"));
    assertAnswered(responses);
    for (const response of responses) {
      assert.equal(response.agentAnswers[0]?.attempts, 1, "no task was retried, so scale-in hurt none");
    }
    const peak = await watcher.waitFor("reaching 4 blocks", (e) => e.blocksAfter === 4);
    const peakIndex = watcher.events.indexOf(peak);
    await watcher.waitFor(
      "back to 0 blocks after the load",
      (e) => watcher.events.indexOf(e) > peakIndex && e.blocksAfter === 0,
    );
    assert.ok(!watcher.reasons().includes("block_failed"), `events: ${watcher.describe()}`);
    // The event fires when the victims are drained; their processes stop a moment later.
    let status = await chat.getStatus({}, soon());
    for (let i = 0; i < 150 && (status.pools[0]?.replicas.length ?? 0) > 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      status = await chat.getStatus({}, soon());
    }
    assert.equal(status.pools[0]?.replicas.length, 0);
    assert.equal(status.pools[0]?.scaling?.strategy, "chorus");
  });
});

describe("a block killed with SIGKILL under load", { timeout: 180_000 }, () => {
  let mesh: ChorusUp;
  let chat: PromiseClient<typeof ChatService>;
  let watcher: ScalingWatcher;
  before(async () => {
    mesh = await startChorusUp(meshConfig(60));
    chat = createClient(ChatService, mesh.address);
    watcher = new ScalingWatcher(mesh.address);
  });
  after(async () => {
    await watcher.stop();
    chat.close();
    await mesh.stop();
  });

  // A busy block while plenty of tasks still wait, so the pool still wants a block in its place.
  async function busyBlockUnderLoad() {
    for (let i = 0; i < 600; i += 1) {
      const pool = (await chat.getStatus({}, soon())).pools[0];
      const running = pool?.replicas.filter((r) => r.state === "RUNNING") ?? [];
      const busy = running.find((r) => r.inFlight > 0);
      if (busy && running.length >= 2 && (pool?.queued ?? 0) >= 10) return busy;
      await delay(20);
    }
    return assert.fail("the pool never had two running blocks with tasks waiting");
  }

  it("replaces the block, and the turns that were on it succeed on other blocks", async () => {
    const turns = sendTurns(chat, "kill");
    const victim = await busyBlockUnderLoad();
    const agent = createClient(AgentService, victim.address, {}, asOrchestrator(mesh, "agent"));
    const { pid } = await agent.describe({}, soon());
    agent.close();
    assert.ok(pid > 0);
    process.kill(pid, "SIGKILL");
    const responses = await Promise.all(turns);
    assertAnswered(responses);
    const retried = responses.map((r) => r.agentAnswers[0]).filter((a) => (a?.attempts ?? 0) > 1);
    assert.ok(retried.length > 0, "some turns were on the killed block");
    for (const answer of retried) assert.notEqual(answer?.replica, victim.address);
    const failed = await watcher.waitFor("block_failed", (e) => e.reason === "block_failed");
    assert.deepEqual(failed.blockIds, [victim.id]);
    const replaced = await watcher.waitFor("replace_failed", (e) => e.reason === "replace_failed");
    assert.ok(watcher.events.indexOf(replaced) > watcher.events.indexOf(failed));
  });
});
