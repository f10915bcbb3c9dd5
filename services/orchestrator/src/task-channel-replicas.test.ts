import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { defaultAgents, validateConfig } from "@chorus/config";
import type { runHistory } from "@chorus/history";
import { type RunningSimulator, startSimulator } from "@chorus/llm-sim";
import { ChatService } from "@chorus/proto";
import { createClient, createLogger, type PromiseClient } from "@chorus/shared";
import type { Block } from "./executor/block.js";
import type { Pool } from "./executor/pool.js";
import type { LocalProvider } from "./providers/local/local-provider.js";
import type { RunningOrchestrator } from "./run-orchestrator.js";
import { startConfigAndHistory, startOrchestratorWithAgents } from "./testing/orchestrator-with-agents.js";

const TTFT_MS = 2000;
const HEARTBEAT_TIMEOUT_MS = 800;

/** Waits (up to `ms`) until `ready` holds. */
async function until(what: string, ready: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ready())) {
    if (Date.now() > end) assert.fail(`${what} never happened`);
    await delay(10);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("task channels to real agent processes that die, hang or lose their caller", () => {
  const log = createLogger("task-channel-replicas-test", "silent");
  const dir = mkdtempSync(join(tmpdir(), "chorus-task-channel-"));
  let sim: RunningSimulator;
  let history: Awaited<ReturnType<typeof runHistory>>;
  let orchestrator: RunningOrchestrator;
  let chat: PromiseClient<typeof ChatService>;
  let pool: Pool;
  const stopped: number[] = [];

  const serving = () =>
    [...pool.blocks.values()].filter((b) => b.state === "RUNNING" && b.channel?.state === "open");
  const pids = () => (orchestrator.provider as LocalProvider).pids();
  /** The replica running a task, once there is one. */
  async function busyReplica(): Promise<{ block: Block; pid: number }> {
    let busy: Block | undefined;
    await until("a replica runs the task", () => {
      busy = [...pool.blocks.values()].find((b) => b.inFlight > 0);
      return busy !== undefined;
    });
    const block = busy ?? assert.fail();
    return { block, pid: pids().get(block.id) ?? assert.fail(`no pid for ${block.id}`) };
  }

  before(async () => {
    sim = await startSimulator({
      ...validateConfig({}, "(defaults)").simulator,
      ttft_ms: TTFT_MS,
      ttft_std_ms: 0,
      itl_ms: 0,
      tokens: 4,
    });
    const base = defaultAgents[0] ?? assert.fail();
    const raw = {
      security: { mesh: { mode: "off" } },
      llm: { base_url: sim.url },
      cache: { enabled: false },
      orchestrator: {
        agent_start_timeout_ms: 60_000,
        heartbeat_ms: 100,
        heartbeat_timeout_ms: HEARTBEAT_TIMEOUT_MS,
      },
      agents: [
        {
          name: "solo",
          temperature: base.temperature,
          max_tokens: base.max_tokens,
          system_prompt: base.system_prompt,
          workers: 1,
          replicas: 2,
        },
      ],
    };
    const started = await startConfigAndHistory(raw, dir, log);
    history = started.history;
    const { config, configPath } = started;
    orchestrator = await startOrchestratorWithAgents({
      config,
      configPath,
      historyAddress: history.address,
      llmBaseUrl: sim.url,
      log,
      agentLogLevel: "error",
    });
    chat = createClient(ChatService, orchestrator.address);
    pool = orchestrator.pools.get("solo") ?? assert.fail();
  });

  after(async () => {
    for (const pid of stopped) if (alive(pid)) process.kill(pid, "SIGKILL");
    chat?.close();
    await orchestrator?.close(1000);
    await history?.close(1000);
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Waits until both replicas serve again (a lost one replaced), outside of any test's timing. */
  const bothServing = () => until("two replicas serving", () => serving().length === 2, 60_000);

  it("answers a turn whose replica is killed mid-task from the other replica, and replaces the dead one", async () => {
    await bothServing();
    const before = new Set(pool.blocks.keys());
    const turn = chat.chat(
      { message: "Which replica answers?" },
      { deadline: new Date(Date.now() + 30_000) },
    );
    const { block, pid } = await busyReplica();
    process.kill(pid, "SIGKILL");
    const response = await turn;
    const [answer] = response.agentAnswers;
    assert.equal(answer?.ok, true, answer?.error);
    assert.notEqual(answer?.replica, block.address, "the dead replica cannot have answered");
    assert.equal(answer?.attempts, 2);
    await until("a replacement serves", () => serving().some((b) => !before.has(b.id)), 60_000);
  });

  it("treats a replica that stops answering heartbeats (SIGSTOP) as lost: its task is retried elsewhere, it is killed and replaced", async () => {
    await bothServing();
    const before = new Set(pool.blocks.keys());
    const started = performance.now();
    const turn = chat.chat({ message: "Who is asleep?" }, { deadline: new Date(Date.now() + 30_000) });
    const { block, pid } = await busyReplica();
    process.kill(pid, "SIGSTOP");
    stopped.push(pid);
    const response = await turn;
    const ms = performance.now() - started;
    const [answer] = response.agentAnswers;
    assert.equal(answer?.ok, true, answer?.error);
    assert.notEqual(answer?.replica, block.address);
    // Lost after the heartbeat timeout, then one more generation elsewhere; not the 30 s deadline.
    assert.ok(ms < TTFT_MS + HEARTBEAT_TIMEOUT_MS + 4000, `answered after ${ms.toFixed(0)} ms`);
    await until("the hung process is killed", () => !alive(pid));
    await until("a replacement serves", () => serving().some((b) => !before.has(b.id)), 60_000);
  });

  it("frees a cancelled turn's slot on its replica at once, not when the model would have answered", async () => {
    await bothServing();
    const stopping = new AbortController();
    const turn = chat.chat(
      { message: "Never mind." },
      { deadline: new Date(Date.now() + 30_000), signal: stopping.signal },
    );
    turn.catch(() => {});
    const { block } = await busyReplica();
    const client = block.client ?? assert.fail();
    const running = await client.describe({});
    assert.equal(running.inFlight, 1);
    const cancelledAt = performance.now();
    stopping.abort();
    await until(
      "the replica's slot is free",
      async () => (await client.describe({})).inFlight === 0,
      TTFT_MS,
    );
    const freedMs = performance.now() - cancelledAt;
    assert.ok(freedMs < TTFT_MS / 2, `freed ${freedMs.toFixed(0)} ms after the cancel`);
    await until("the pool has the slot back", () => block.inFlight === 0, TTFT_MS);
    const described = await client.describe({});
    assert.equal(described.completed, running.completed, "the generation was stopped, not finished");
  });
});
