import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { asOrchestrator, type ChorusUp, startChorusUp } from "@chorus/cli/testing";
import { AgentService, ChatService, type ReplicaStatus } from "@chorus/proto";
import { createClient, type PromiseClient } from "@chorus/shared";

const soon = () => ({ deadline: new Date(Date.now() + 60_000) });
const TTFT_MS = 300;
const HEARTBEAT_TIMEOUT_MS = 3000;
const WORKERS = 2;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const persona = (name: string, hedge: boolean) => ({
  name,
  temperature: 0.5,
  max_tokens: 200,
  system_prompt: `You are the ${name} assistant.`,
  workers: WORKERS,
  replicas: 2,
  hedge: { enabled: hedge, min_delay_ms: 20 },
});

describe("task channels under chorus up: hung replicas, a burst, and hedging", () => {
  let mesh: ChorusUp;
  let chat: PromiseClient<typeof ChatService>;
  const stopped: number[] = [];

  async function replicas(pool: string): Promise<ReplicaStatus[]> {
    const status = await chat.getStatus({}, soon());
    return status.pools.find((p) => p.agent === pool)?.replicas ?? [];
  }

  async function pidOf(address: string): Promise<number> {
    const agent = createClient(AgentService, address, {}, asOrchestrator(mesh, "agent"));
    try {
      return (await agent.describe({}, soon())).pid;
    } finally {
      agent.close();
    }
  }

  async function busyReplica(pool: string): Promise<ReplicaStatus> {
    for (let i = 0; i < 500; i += 1) {
      const busy = (await replicas(pool)).find((r) => r.inFlight > 0);
      if (busy) return busy;
      await delay(5);
    }
    return assert.fail(`no ${pool} replica ever had a task in flight`);
  }

  async function twoRunning(pool: string): Promise<void> {
    for (let i = 0; i < 600; i += 1) {
      if ((await replicas(pool)).filter((r) => r.state === "RUNNING").length === 2) return;
      await delay(50);
    }
    assert.fail(`${pool} never got back to 2 running replicas`);
  }

  before(async () => {
    mesh = await startChorusUp({
      simulator: { ttft_ms: TTFT_MS, ttft_std_ms: 0, itl_ms: 1, itl_std_ms: 0, tokens: 4 },
      orchestrator: { heartbeat_ms: 200, heartbeat_timeout_ms: HEARTBEAT_TIMEOUT_MS },
      agents: [persona("steady", false), persona("hedged", true)],
    });
    chat = createClient(ChatService, mesh.address);
  });
  after(async () => {
    for (const pid of stopped) if (alive(pid)) process.kill(pid, "SIGCONT");
    chat?.close();
    await mesh?.stop();
  });

  it("keeps a burst in the orchestrator's queue: no replica is ever sent more tasks than its workers", async () => {
    let mostQueued = 0;
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const status = await chat.getStatus({}, soon());
        mostQueued = Math.max(mostQueued, status.pools.find((p) => p.agent === "steady")?.queued ?? 0);
        await delay(20);
      }
    })();
    const turns = await Promise.all(
      Array.from({ length: 16 }, (_, i) => chat.chat({ message: `burst ${i}`, agents: ["steady"] }, soon())),
    );
    watching = false;
    await watch;
    for (const turn of turns) {
      const [answer] = turn.agentAnswers;
      assert.equal(answer?.ok, true, answer?.error);
      // A replica sent a task beyond its free slots refuses it (RESOURCE_EXHAUSTED) and it is retried.
      assert.equal(answer?.attempts, 1, "no task was refused by a full replica");
    }
    assert.ok(mostQueued >= 4, `at most ${mostQueued} tasks waited in the orchestrator`);
  });

  it("retries the task of a replica that stops answering (SIGSTOP) elsewhere, kills it and replaces it", async () => {
    await twoRunning("steady");
    const started = performance.now();
    const turn = chat.chat({ message: "hang on", agents: ["steady"] }, soon());
    const victim = await busyReplica("steady");
    const pid = await pidOf(victim.address);
    process.kill(pid, "SIGSTOP");
    stopped.push(pid);
    const [answer] = (await turn).agentAnswers;
    const ms = performance.now() - started;
    assert.equal(answer?.ok, true, answer?.error);
    assert.notEqual(answer?.replica, victim.address);
    assert.ok(ms < TTFT_MS + HEARTBEAT_TIMEOUT_MS + 5000, `answered after ${ms.toFixed(0)} ms`);
    for (let i = 0; i < 200 && alive(pid); i += 1) await delay(50);
    assert.equal(alive(pid), false, "the hung agent process was killed");
    await twoRunning("steady");
    assert.ok(!(await replicas("steady")).some((r) => r.id === victim.id), "a new replica took its place");
  });

  it("hedges a task stuck on a paused replica: the other replica answers, the straggler's slot is freed", async () => {
    await twoRunning("hedged");
    // The pool's recent p95 comes from real tasks.
    for (let i = 0; i < 12; i += 1) {
      await Promise.all(
        [0, 1].map((j) => chat.chat({ message: `warm ${i}.${j}`, agents: ["hedged"] }, soon())),
      );
    }
    const started = performance.now();
    const turn = chat.chat({ message: "straggle", agents: ["hedged"] }, soon());
    const straggler = await busyReplica("hedged");
    const pid = await pidOf(straggler.address);
    process.kill(pid, "SIGSTOP");
    stopped.push(pid);
    const [answer] = (await turn).agentAnswers;
    const ms = performance.now() - started;
    process.kill(pid, "SIGCONT");
    assert.equal(answer?.ok, true, answer?.error);
    assert.notEqual(answer?.replica, straggler.address, "the hedge answered");
    assert.ok(ms < HEARTBEAT_TIMEOUT_MS, `answered after ${ms.toFixed(0)} ms: before any heartbeat verdict`);
    const stats = await chat.getStats({}, soon());
    const hedged = stats.agents.find((a) => a.agent === "hedged");
    assert.ok(
      (hedged?.hedgedTasks ?? 0n) >= 1n && (hedged?.hedgeWins ?? 0n) >= 1n,
      `hedged ${hedged?.hedgedTasks}, won ${hedged?.hedgeWins}`,
    );
    assert.equal(
      stats.agents.find((a) => a.agent === "steady")?.hedgedTasks,
      0n,
      "hedging is off by default",
    );
    for (let i = 0; i < 200; i += 1) {
      if ((await replicas("hedged")).every((r) => r.inFlight === 0)) break;
      await delay(20);
    }
    const after = await replicas("hedged");
    assert.ok(
      after.every((r) => r.inFlight === 0),
      "the straggler's cancelled copy gave its slot back",
    );
    assert.ok(
      after.some((r) => r.id === straggler.id),
      "the paused replica was not declared lost",
    );
  });
});
