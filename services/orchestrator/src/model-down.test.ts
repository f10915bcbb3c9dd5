import assert from "node:assert/strict";
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { defaultAgents } from "@chorus/config";
import type { runHistory } from "@chorus/history";
import { ChatService, type GetStatusResponse } from "@chorus/proto";
import { createClient, createLogger, type PromiseClient } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import type { RunningOrchestrator } from "./run-orchestrator.js";
import type { ScalingEvent } from "./scaler/scaling-events.js";
import { startConfigAndHistory, startOrchestratorWithAgents } from "./testing/orchestrator-with-agents.js";

const soon = () => ({ deadline: new Date(Date.now() + 30_000) });
const module = (name: string) => fileURLToPath(import.meta.resolve(name));

/** `chorus llm-sim` as its own process, on `port` (0: a free one); resolves with it and its base URL. */
function startSim(configPath: string, port: number): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(module("@chorus/llm-sim/main"), ["--config", configPath, "--port", String(port)], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`llm-sim exited at start (${code})`)));
    child.on("message", (message: { type?: string; address?: string }) => {
      if (message.type === "ready" && message.address) resolve({ child, url: message.address });
    });
  });
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  return exited;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

describe("a mesh whose model is killed and comes back (real llm-sim and agent processes)", () => {
  const log = createLogger("model-down-test", "silent");
  const dir = mkdtempSync(join(tmpdir(), "chorus-model-down-"));
  let sim: { child: ChildProcess; url: string };
  let history: Awaited<ReturnType<typeof runHistory>>;
  let orchestrator: RunningOrchestrator;
  let chat: PromiseClient<typeof ChatService>;
  const events: ScalingEvent[] = [];
  const simConfig = join(dir, "sim.json");

  before(async () => {
    writeFileSync(
      simConfig,
      JSON.stringify({ simulator: { ttft_ms: 2, ttft_std_ms: 0, itl_ms: 0, tokens: 8 } }),
    );
    sim = await startSim(simConfig, 0);
    const raw = {
      security: { mesh: { mode: "off" } },
      llm: { base_url: sim.url },
      cache: { enabled: false },
      orchestrator: { agent_start_timeout_ms: 60_000 },
      // Room for every pool to reach max_blocks, so only the model rule can keep them small.
      provider: { local: { max_agent_blocks: 12, max_cpu_busy: 1 } },
      // Two workers per block and a fast period: tasks that queued would scale a pool out at once.
      agents: defaultAgents.map(({ scaling: _scaling, ...agent }) => ({
        ...agent,
        workers: 2,
        scaling: { strategy: "chorus", init_blocks: 1, min_blocks: 1, max_blocks: 4, strategy_period: 0.2 },
      })),
    };
    const started = await startConfigAndHistory(raw, dir, log);
    history = started.history;
    const { config, configPath } = started;
    assert.deepEqual(config.llm.breaker, { failures: 5, cooldown_ms: 500 }, "the defaults are under test");
    orchestrator = await startOrchestratorWithAgents({
      config,
      configPath,
      historyAddress: history.address,
      llmBaseUrl: sim.url,
      log,
      agentLogLevel: "error",
    });
    orchestrator.events.subscribe((event) => events.push(event));
    chat = createClient(ChatService, orchestrator.address);
  });

  after(async () => {
    chat?.close();
    await orchestrator?.close(1000);
    await history?.close(1000);
    if (sim) await kill(sim.child);
    rmSync(dir, { recursive: true, force: true });
  });

  const turn = (i: number) => chat.chat({ message: `question ${i}` }, soon());
  const statusNow = (): Promise<GetStatusResponse> => chat.getStatus({}, soon());
  const blocks = (s: GetStatusResponse) => s.pools.map((p) => `${p.agent}=${p.replicas.length}`).join(" ");

  it("fails turns within 100 ms (p99) while the agents' breakers are open, naming the model endpoint", async () => {
    await turn(0);
    await kill(sim.child);
    // Five failures open each replica's breaker; every pool then reports the model down.
    for (let i = 0; i < 30; i += 1) {
      await assert.rejects(turn(i));
      if ((await statusNow()).pools.every((p) => p.modelHealth?.state === "down")) break;
    }
    const down = await statusNow();
    for (const pool of down.pools) {
      assert.equal(pool.modelHealth?.state, "down", `${pool.agent}: ${pool.modelHealth?.detail}`);
      assert.ok(
        pool.modelHealth?.detail.includes(`model endpoint ${sim.url} is down`),
        pool.modelHealth?.detail,
      );
      assert.ok(Number(pool.modelHealth?.sinceMs) > 0);
    }
    const component = down.components.find((c) => c.name === "pool/creative");
    assert.match(component?.detail ?? "", /; model down: /);

    const latencies: number[] = [];
    const caller = async (id: number) => {
      for (let i = 0; i < 150; i += 1) {
        const started = performance.now();
        const err = await turn(id * 1000 + i).then(
          () => assert.fail("a turn succeeded with the model down"),
          (e: { code: status; details: string }) => e,
        );
        latencies.push(performance.now() - started);
        assert.equal(err.code, status.UNAVAILABLE, err.details);
        assert.ok(err.details.includes(`model endpoint ${sim.url} is down`), err.details);
      }
    };
    await Promise.all([0, 1].map(caller));
    const p99 = percentile(latencies, 0.99);
    assert.ok(p99 <= 100, `p99 time-to-fail ${p99.toFixed(1)} ms over ${latencies.length} turns`);
  });

  it("does not grow any pool while the model is down, however many turns queue", async () => {
    const before = events.length;
    for (let round = 0; round < 3; round += 1) {
      await Promise.all(Array.from({ length: 16 }, (_, i) => turn(round * 100 + i).catch(() => undefined)));
      await delay(300);
    }
    assert.deepEqual(
      events.slice(before).map((e) => `${e.pool} ${e.reason} ${e.blocksBefore}->${e.blocksAfter}`),
      [],
    );
    assert.equal(blocks(await statusNow()), "creative=1 analytical=1 balanced=1");
  });

  it("answers with every agent within 1 s of the model's return, and then scales out for real load again", async () => {
    const port = Number(new URL(sim.url).port);
    sim = await startSim(simConfig, port);
    const back = performance.now();
    let answered = -1;
    for (let i = 0; answered < 0 && performance.now() - back < 3000; i += 1) {
      const response = await turn(i).catch(() => undefined);
      if (response?.agentAnswers.every((a) => a.ok)) answered = performance.now() - back;
      else await delay(25);
    }
    assert.ok(
      answered >= 0 && answered <= 1000,
      `every agent answered ${answered.toFixed(0)} ms after the return`,
    );
    assert.deepEqual(
      (await statusNow()).pools.map((p) => p.modelHealth?.state),
      ["ok", "ok", "ok"],
    );
    // The control: the same burst that left the pools alone while the model was down grows them now.
    await Promise.all(Array.from({ length: 16 }, (_, i) => turn(500 + i)));
    assert.ok(
      events.some((e) => e.reason === "admission" || e.reason === "scale_out"),
      `no scale-out with the model up: ${events.map((e) => e.reason)}`,
    );
  });
});
