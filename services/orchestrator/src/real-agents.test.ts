import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type ChorusConfig, validateConfig } from "@chorus/config";
import type { runHistory } from "@chorus/history";
import { type RunningSimulator, startSimulator } from "@chorus/llm-sim";
import { Aggregation, ChatService } from "@chorus/proto";
import { createClient, createLogger, type PromiseClient } from "@chorus/shared";
import type { RunningOrchestrator } from "./run-orchestrator.js";
import { startConfigAndHistory, startOrchestratorWithAgents } from "./testing/orchestrator-with-agents.js";

/** A process's resident bytes as the kernel reports them. */
function kernelRss(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) * 1024;
}

const soon = () => ({ deadline: new Date(Date.now() + 30_000) });

describe("the orchestrator with real agent processes and a recording model", () => {
  const log = createLogger("real-agents-test", "silent");
  let dir: string;
  let sim: RunningSimulator;
  let history: Awaited<ReturnType<typeof runHistory>>;
  let orchestrator: RunningOrchestrator;
  let chat: PromiseClient<typeof ChatService>;
  let config: ChorusConfig;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "chorus-real-agents-"));
    sim = await startSimulator(
      { ...validateConfig({}, "(defaults)").simulator, ttft_ms: 5, ttft_std_ms: 0, itl_ms: 1, itl_std_ms: 0 },
      { record: 50 },
    );
    const raw = {
      security: { mesh: { mode: "off" } },
      llm: { base_url: sim.url },
      cache: { enabled: false },
      orchestrator: { agent_start_timeout_ms: 60_000, judge_agent: "balanced" },
    };
    const started = await startConfigAndHistory(raw, dir, log);
    history = started.history;
    ({ config } = started);
    const { configPath } = started;
    orchestrator = await startOrchestratorWithAgents({
      config,
      configPath,
      historyAddress: history.address,
      llmBaseUrl: sim.url,
      log,
    });
    chat = createClient(ChatService, orchestrator.address);
  });

  after(async () => {
    chat?.close();
    await orchestrator?.close(1000);
    await history?.close(1000);
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends the judge agent's model the question and every other agent's answer", async () => {
    const message = "Why do lighthouses flash?";
    const response = await chat.chat({ message, aggregation: Aggregation.JUDGE }, soon());
    assert.deepEqual(response.answeredBy, ["balanced"]);
    assert.equal(response.agentAnswers.filter((a) => a.ok).length, 3);
    const judge = config.agents.find((a) => a.name === "balanced");
    const judged = sim
      .received()
      .filter((r) => r.messages[0]?.content === judge?.system_prompt)
      .map((r) => r.messages.at(-1)?.content ?? "")
      .filter((content) => content !== message);
    assert.equal(judged.length, 1, "the judge's model was asked once, besides answering as an agent");
    const prompt = judged[0] ?? "";
    assert.ok(prompt.includes(`Question:\n${message}`), prompt);
    for (const answer of response.agentAnswers) {
      assert.ok(
        prompt.includes(`Answer from ${answer.agent}:\n${answer.text}`),
        `${answer.agent} missing:\n${prompt}`,
      );
    }
  });

  it("reports CPU and RSS of itself, history and every agent replica, each read from its own process", async () => {
    const stats = await chat.getStats({}, soon());
    const byService = (name: string) => stats.services.filter((s) => s.service === name);
    const [own] = byService("orchestrator");
    assert.equal(own?.usage?.pid, process.pid);
    const [historyUsage] = byService("history");
    assert.equal(historyUsage?.instance, history.address);
    assert.equal(historyUsage?.usage?.pid, process.pid, "history runs in this test's process");
    const agents = byService("agent");
    assert.deepEqual(agents.map((a) => a.instance.split("/")[0]).sort(), [
      "analytical",
      "balanced",
      "creative",
    ]);
    const pids = new Set(agents.map((a) => a.usage?.pid));
    assert.equal(pids.size, 3, "one process per replica");
    assert.ok(!pids.has(process.pid));
    for (const agent of agents) {
      const usage = agent.usage ?? assert.fail(`${agent.instance}: ${agent.error}`);
      assert.ok(usage.cpuSeconds > 0, `${agent.instance} cpu ${usage.cpuSeconds}`);
      const rss = Number(usage.rssBytes);
      const kernel = kernelRss(usage.pid);
      assert.ok(Math.abs(rss - kernel) < 16 * 2 ** 20, `${agent.instance}: rss ${rss}, kernel ${kernel}`);
    }
  });
});
