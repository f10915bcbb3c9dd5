import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { type ChorusUp, CLI_BUNDLE, startChorusUp } from "@chorus/cli/testing";
import { Aggregation, BatchMode, ChatService, HistoryService } from "@chorus/proto";
import { createClient, type PromiseClient } from "@chorus/shared";

const AGENTS = ["creative", "analytical", "balanced"];
const soon = () => ({ deadline: new Date(Date.now() + 30_000) });
const HEAP_MB = 320;

/** Every process under `pid`, each with its command line. */
function descendants(pid: number): Array<{ pid: number; argv: string[] }> {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean).map(Number),
  );
  return children.flatMap((child) => [
    { pid: child, argv: readFileSync(`/proc/${child}/cmdline`, "utf8").split("\0") },
    ...descendants(child),
  ]);
}

describe("chorus up, through the generated client", () => {
  let mesh: ChorusUp;
  let chat: PromiseClient<typeof ChatService>;
  let history: PromiseClient<typeof HistoryService>;
  before(async () => {
    mesh = await startChorusUp({ limits: { heap_mb: HEAP_MB } });
    chat = createClient(ChatService, mesh.address);
    history = createClient(HistoryService, mesh.address);
  });
  after(async () => {
    chat.close();
    history.close();
    await mesh.stop();
  });

  it("answers a message with all three agents and stores the turn", async () => {
    const response = await chat.chat({ message: "What is parallel processing?" }, soon());
    assert.deepEqual(
      response.agentAnswers.map((a) => a.agent),
      AGENTS,
    );
    for (const answer of response.agentAnswers) {
      assert.equal(answer.ok, true, answer.error);
      assert.match(answer.text, /simulated/);
      assert.ok(answer.completionTokens > 0);
      assert.equal(answer.attempts, 1);
      assert.match(answer.replica, /^127\.0\.0\.1:\d+$/);
    }
    assert.equal(response.aggregation, Aggregation.PRIORITY);
    assert.equal(response.answer, response.agentAnswers[0]?.text, "priority answers with the first agent");
    const stored = await history.getConversation({ conversationId: response.conversationId }, soon());
    assert.equal(stored.turns.length, 1);
    assert.equal(stored.turns[0]?.turnId, response.turnId);
    assert.equal(stored.turns[0]?.agentAnswers.length, 3);
  });

  it("sends the conversation's earlier turns to the agents as context", async () => {
    const first = await chat.chat({ message: "Tell me about queues", agents: ["analytical"] }, soon());
    const second = await chat.chat(
      { message: "And about stacks", conversationId: first.conversationId, agents: ["analytical"] },
      soon(),
    );
    const alone = await chat.chat({ message: "And about stacks", agents: ["analytical"] }, soon());
    assert.ok(
      (second.agentAnswers[0]?.promptTokens ?? 0) > (alone.agentAnswers[0]?.promptTokens ?? 0),
      "the follow-up's prompt includes the earlier turn",
    );
    const stored = await history.getConversation({ conversationId: first.conversationId }, soon());
    assert.deepEqual(
      stored.turns.map((t) => t.seq),
      [1, 2],
    );
  });

  it("streams token deltas per agent, an event per finished agent, and the answer last", async () => {
    const kinds: string[] = [];
    const text = new Map<string, string>();
    let final: string | undefined;
    for await (const event of chat.chatStream({ message: "Stream me an answer about caching" }, soon())) {
      kinds.push(event.event.case ?? "none");
      if (event.event.case === "delta") {
        const { agent, text: piece } = event.event.value;
        text.set(agent, (text.get(agent) ?? "") + piece);
      }
      if (event.event.case === "agentDone") {
        assert.equal(
          text.get(event.event.value.agent),
          event.event.value.text,
          "deltas add up to the answer",
        );
      }
      if (event.event.case === "final") final = event.event.value.answer;
    }
    assert.equal(kinds[0], "started");
    assert.equal(kinds.at(-1), "final");
    assert.equal(kinds.filter((k) => k === "agentDone").length, 3);
    assert.ok(kinds.filter((k) => k === "delta").length >= 3);
    assert.equal(final, text.get("creative"));
  });

  it("returns the stored turn for a repeated turn_id instead of creating a second one", async () => {
    const turnId = `retry-${Date.now()}`;
    const first = await chat.chat({ message: "Idempotent please", turnId }, soon());
    const again = await chat.chat({ message: "Idempotent please", turnId }, soon());
    assert.equal(first.replayed, false);
    assert.equal(again.replayed, true);
    assert.equal(again.turnId, turnId);
    assert.equal(again.conversationId, first.conversationId);
    assert.equal(again.answer, first.answer);
    const stored = await history.getConversation({ conversationId: first.conversationId }, soon());
    assert.equal(stored.turns.length, 1);
  });

  it("aggregates with every mode", async () => {
    const all = await chat.chat({ message: "Compare modes", aggregation: Aggregation.ALL }, soon());
    for (const agent of AGENTS) assert.match(all.answer, new RegExp(`\\[${agent}\\]`));
    assert.deepEqual(all.answeredBy, AGENTS);
    const fastest = await chat.chat({ message: "Fastest mode", aggregation: Aggregation.FASTEST }, soon());
    assert.equal(fastest.answeredBy.length, 1);
    const quorum = await chat.chat({ message: "Quorum mode", aggregation: Aggregation.QUORUM }, soon());
    assert.equal(quorum.answeredBy.length, 2);
    const judged = await chat.chat({ message: "Judge mode", aggregation: Aggregation.JUDGE }, soon());
    assert.deepEqual(judged.answeredBy, ["balanced"]);
    assert.match(judged.answer, /simulated/);
  });

  it("runs the seed's round-robin batch and streams each item, then a summary", async () => {
    const items: Array<{ index: number; agent: string; success: boolean; message: string }> = [];
    let summary: { total: number; successful: number; failed: number; messagesPerSecond: number } | undefined;
    for await (const event of chat.batch({ count: 6, mode: BatchMode.ROUND_ROBIN }, soon())) {
      if (event.event.case === "item") items.push(event.event.value);
      if (event.event.case === "summary") summary = event.event.value;
    }
    assert.equal(items.length, 6);
    for (const item of items) {
      assert.equal(item.success, true);
      assert.equal(item.agent, AGENTS[item.index % 3]);
      assert.equal(
        item.message,
        `Test message ${item.index + 1}: What can you tell me about parallel processing?`,
      );
    }
    assert.deepEqual(
      { total: summary?.total, successful: summary?.successful, failed: summary?.failed },
      { total: 6, successful: 6, failed: 0 },
    );
    assert.ok((summary?.messagesPerSecond ?? 0) > 0);
  });

  it("fans a batch out to every agent", async () => {
    const agents: string[] = [];
    for await (const event of chat.batch({ messages: ["one", "two"], mode: BatchMode.FANOUT }, soon())) {
      if (event.event.case === "item") agents.push(`${event.event.value.index}:${event.event.value.agent}`);
    }
    assert.deepEqual(agents.sort(), [
      "0:analytical",
      "0:balanced",
      "0:creative",
      "1:analytical",
      "1:balanced",
      "1:creative",
    ]);
  });

  it("reports statistics with wall-clock throughput and per-agent numbers", async () => {
    const stats = await chat.getStats({}, soon());
    assert.ok(stats.totalRequests >= 5n);
    assert.equal(stats.failedRequests, 0n);
    assert.ok(stats.p50ResponseTimeMs <= stats.p99ResponseTimeMs);
    assert.ok(
      stats.minResponseTimeMs <= stats.avgResponseTimeMs &&
        stats.avgResponseTimeMs <= stats.maxResponseTimeMs,
    );
    assert.ok(stats.throughputPerSecond > 0);
    assert.deepEqual(
      stats.agents.map((a) => a.agent),
      AGENTS,
    );
    for (const agent of stats.agents) {
      assert.ok(agent.requests > 0n);
      assert.equal(agent.successRate, 1);
      assert.ok(agent.tokens > 0n);
    }
  });

  it("reports every component healthy and each pool's replicas", async () => {
    const status = await chat.getStatus({}, soon());
    assert.equal(status.initialized, true);
    const names = status.components.map((c) => c.name);
    for (const name of ["history", "cache", "llm", "pool/creative", "pool/analytical", "pool/balanced"]) {
      assert.ok(names.includes(name), `${name} in ${names}`);
    }
    for (const component of status.components) assert.equal(component.healthy, true, component.detail);
    for (const pool of status.pools) {
      assert.ok(pool.replicas.length >= 1);
      assert.equal(pool.replicas[0]?.state, "RUNNING");
    }
  });

  it("starts every service and agent process with the configured V8 heap ceiling, once", () => {
    const processes = descendants(mesh.process.pid ?? 0);
    const roles = processes.map(({ argv }) => argv[argv.findIndex((a) => a.endsWith(".mjs")) + 1]).sort();
    assert.deepEqual(roles, ["agent", "agent", "agent", "history", "llm-sim", "orchestrator"]);
    for (const { pid, argv } of processes) {
      const ceilings = argv.filter((arg) => arg.startsWith("--max-old-space-size="));
      assert.deepEqual(ceilings, [`--max-old-space-size=${HEAP_MB}`], `${pid}: ${argv.join(" ")}`);
    }
  });

  it("finds, lists, exports and deletes conversations through the orchestrator", async () => {
    const turn = await chat.chat({ message: "A rare word: zebrafish" }, soon());
    const found = await history.searchTurns({ query: "ZEBRAFISH" }, soon());
    assert.ok(found.turns.some((t) => t.turnId === turn.turnId));
    const listed = await history.listConversations({ pageSize: 100 }, soon());
    assert.ok(listed.conversations.some((c) => c.conversationId === turn.conversationId));
    const exported: string[] = [];
    for await (const part of history.exportConversation({ conversationId: turn.conversationId }, soon())) {
      exported.push(part.turn?.turnId ?? "");
    }
    assert.deepEqual(exported, [turn.turnId]);
    const deleted = await history.deleteConversation({ conversationId: turn.conversationId }, soon());
    assert.equal(deleted.deletedTurns, 1);
  });

  it("answers `chorus health` with SERVING and exit code 0", () => {
    const out = execFileSync(process.execPath, [CLI_BUNDLE, "health", mesh.address], {
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(out.trim(), `${mesh.address} SERVING`);
  });
});
