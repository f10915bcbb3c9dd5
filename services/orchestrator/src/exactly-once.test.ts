import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { validateConfig } from "@chorus/config";
import type { runHistory } from "@chorus/history";
import { type RunningSimulator, startSimulator } from "@chorus/llm-sim";
import { ChatService, HistoryService } from "@chorus/proto";
import { createClient, createLogger, type PromiseClient } from "@chorus/shared";
import type { RunningOrchestrator } from "./run-orchestrator.js";
import { startConfigAndHistory, startOrchestratorWithAgents } from "./testing/orchestrator-with-agents.js";

const soon = () => ({ deadline: new Date(Date.now() + 30_000) });

/** Two personas: one that samples (never cached under auto), one with a seed (cached and coalesced). */
const agents = [
  {
    name: "sampler",
    temperature: 0.7,
    max_tokens: 64,
    system_prompt: "You sample freely.",
    replicas: 1,
    workers: 8,
  },
  {
    name: "seeded",
    temperature: 0.7,
    seed: 42,
    max_tokens: 64,
    system_prompt: "You answer reproducibly.",
    replicas: 1,
    workers: 8,
  },
];

describe("one turn_id, or one question, at once on two orchestrators sharing a history, counted at the model", () => {
  const log = createLogger("exactly-once-test", "silent");
  let dir: string;
  let sim: RunningSimulator;
  let history: Awaited<ReturnType<typeof runHistory>>;
  const orchestrators: RunningOrchestrator[] = [];
  const chats: PromiseClient<typeof ChatService>[] = [];
  let historyClient: PromiseClient<typeof HistoryService>;

  /** The model's generations for `message`, by the agent's system prompt. */
  const generations = (message: string) => {
    const asked = sim.received().filter((r) => r.messages.at(-1)?.content === message);
    return {
      sampler: asked.filter((r) => r.messages[0]?.content === agents[0]?.system_prompt),
      seeded: asked.filter((r) => r.messages[0]?.content === agents[1]?.system_prompt),
    };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "chorus-exactly-once-"));
    // A slow first token keeps every duplicate's request in flight while the first one runs.
    sim = await startSimulator(
      {
        ...validateConfig({}, "(defaults)").simulator,
        ttft_ms: 300,
        ttft_std_ms: 0,
        itl_ms: 1,
        itl_std_ms: 0,
      },
      { record: 500 },
    );
    const raw = {
      security: { mesh: { mode: "off" } },
      llm: { base_url: sim.url },
      orchestrator: { agent_start_timeout_ms: 60_000, judge_agent: "seeded" },
      agents,
    };
    const started = await startConfigAndHistory(raw, dir, log);
    history = started.history;
    const { config, configPath } = started;
    for (let i = 0; i < 2; i++) {
      const orchestrator = await startOrchestratorWithAgents({
        config,
        configPath,
        historyAddress: history.address,
        llmBaseUrl: sim.url,
        log,
      });
      orchestrators.push(orchestrator);
      chats.push(createClient(ChatService, orchestrator.address));
    }
    historyClient = createClient(HistoryService, history.address);
  });

  after(async () => {
    for (const chat of chats) chat.close();
    historyClient?.close();
    for (const orchestrator of orchestrators) await orchestrator.close(1000);
    await history?.close(1000);
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sends `message` under `turnId` `count` times at once, alternating over `targets`, and checks one turn came of it. */
  async function duplicates(message: string, turnId: string, count: number, targets: number[]) {
    const responses = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        chats[targets[i % targets.length] ?? 0]?.chat({ message, turnId }, soon()),
      ),
    );
    const made = generations(message);
    assert.deepEqual(
      [made.sampler.length, made.seeded.length],
      [1, 1],
      "one generation per agent at the model",
    );
    assert.equal(new Set(responses.map((r) => r?.answer)).size, 1, "every caller got the same answer");
    assert.equal(
      responses.filter((r) => r?.replayed === false).length,
      1,
      "one caller ran it; the rest replayed it",
    );
    const conversationId = responses[0]?.conversationId ?? "";
    const stored = await historyClient.getConversation({ conversationId }, soon());
    assert.deepEqual(
      stored.turns.map((t) => t.turnId),
      [turnId],
      "one stored turn",
    );
  }

  it("runs the agents once for one turn_id sent 8 times at once to one orchestrator", async () => {
    await duplicates("Exactly once on one orchestrator?", "mesh-dup-1", 8, [0]);
  });

  it("runs the agents once for one turn_id sent 8 times at once, 4 to each of two orchestrators", async () => {
    await duplicates("Exactly once across orchestrators?", "mesh-dup-2", 8, [0, 1]);
  });

  it("runs a turn whose claim an orchestrator left when it died, once the claim's lease runs out", async () => {
    const message = "Left behind?";
    await historyClient.claimTurn({ turnId: "mesh-dead-1", claimId: "died", leaseMs: 1000 }, soon());
    const started = Date.now();
    const response = await chats[1]?.chat({ message, turnId: "mesh-dead-1" }, soon());
    const waited = Date.now() - started;
    assert.ok(waited >= 900, `answered after ${waited} ms, before the lease ran out`);
    assert.equal(response?.replayed, false);
    const made = generations(message);
    assert.deepEqual([made.sampler.length, made.seeded.length], [1, 1]);
  });

  it("answers 6 identical questions at once with one generation of the seeded agent, sent its seed, and 6 of the sampling one", async () => {
    const message = "A popular question?";
    const responses = await Promise.all(Array.from({ length: 6 }, () => chats[0]?.chat({ message }, soon())));
    const made = generations(message);
    assert.deepEqual([made.sampler.length, made.seeded.length], [6, 1]);
    assert.deepEqual(
      made.seeded.map((r) => r.seed),
      [42],
    );
    assert.ok(made.sampler.every((r) => r.seed === undefined));
    const seeded = responses.map((r) => r?.agentAnswers.find((a) => a.agent === "seeded"));
    assert.equal(new Set(seeded.map((a) => a?.text)).size, 1);
    assert.equal(seeded.filter((a) => a?.replica === "coalesced").length, 5);
    assert.ok(responses.every((r) => r?.agentAnswers.find((a) => a.agent === "sampler")?.cached === false));
  });
});
