import assert from "node:assert/strict";
import { setMaxListeners } from "node:events";
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
import type { RunningOrchestrator } from "./run-orchestrator.js";
import { startConfigAndHistory, startOrchestratorWithAgents } from "./testing/orchestrator-with-agents.js";

const MAX_TURNS = 16;
const BATCHES = 12;
const ITEMS = 1000;
/** A Chat client's p50 beside the batches may be at most this many times its p50 alone (issue 11). */
const MOST_SLOWDOWN = 2;
/** How long the loaded measurement may run; the old behaviour's Chats took seconds each. */
const LOADED_WINDOW_MS = 25_000;

type ChatClient = PromiseClient<typeof ChatService>;

const within = (ms: number) => ({ deadline: new Date(Date.now() + ms) });

// Each client its own connection (grpc-js shares one per target otherwise), so each has its own peer
// address: on a keyless run that is what tells clients apart.
const ownConnection = { "grpc.use_local_subchannel_pool": 1 };

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Sequential Chats (each waits for the last), as one interactive user sends them; their latencies in ms. */
async function chatLatencies(chat: ChatClient, label: string, count: number, windowMs: number) {
  const latencies: number[] = [];
  const stopAt = Date.now() + windowMs;
  for (let i = 0; i < count && Date.now() < stopAt; i += 1) {
    const started = performance.now();
    const response = await chat.chat({ message: `${label} question ${i}` }, within(60_000));
    latencies.push(performance.now() - started);
    assert.equal(response.answeredBy.length, 1, `${label} chat ${i} was answered`);
  }
  return latencies;
}

/** Runs `BATCHES` batches from as many clients, counting their answered and failed items, until aborted. */
function startBatches(address: string, signal: AbortSignal) {
  const answered = Array.from({ length: BATCHES }, () => 0);
  const failures: string[] = [];
  let finished = 0;
  const clients = answered.map(() => createClient(ChatService, address, ownConnection));
  const done = Promise.all(
    clients.map(async (client, b) => {
      try {
        for await (const event of client.batch({ count: ITEMS }, { signal, ...within(120_000) })) {
          if (event.event.case !== "item") continue;
          if (event.event.value.success) answered[b] = (answered[b] ?? 0) + 1;
          else failures.push(event.event.value.error);
        }
        finished += 1;
      } catch (err) {
        if (!signal.aborted) failures.push(String(err));
      } finally {
        client.close();
      }
    }),
  );
  return { answered, failures, done, finished: () => finished };
}

describe("fair admission, with real agent processes", { timeout: 90_000 }, () => {
  const log = createLogger("fair-admission-test", "silent");
  let dir: string;
  let sim: RunningSimulator;
  let history: Awaited<ReturnType<typeof runHistory>>;
  let orchestrator: RunningOrchestrator;
  let chat: ChatClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "chorus-fair-admission-"));
    // Close to half a second per answer, so a turn's time is the model's more than this machine's CPU
    // (the batches then cost about 30 items/s); the model does not slow down with load (slowdown 0),
    // so what the ratio measures is Chorus's queueing.
    const simulator = { ttft_ms: 400, ttft_std_ms: 20, itl_ms: 2, itl_std_ms: 0, tokens: 16, slowdown: 0 };
    sim = await startSimulator({ ...validateConfig({}, "(defaults)").simulator, ...simulator });
    const raw = {
      security: { mesh: { mode: "off" } },
      llm: { base_url: sim.url },
      cache: { enabled: false },
      orchestrator: { max_concurrent_turns: MAX_TURNS, agent_start_timeout_ms: 60_000 },
      // One replica per persona with a slot for every admitted turn, so a pool queue forms only when
      // more than MAX_TURNS turns are let in (12 unbounded batches put hundreds of tasks there).
      agents: defaultAgents.map(({ name, temperature, max_tokens, system_prompt }) => ({
        name,
        temperature,
        max_tokens,
        system_prompt,
        workers: MAX_TURNS,
        replicas: 1,
      })),
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
    });
    chat = createClient(ChatService, orchestrator.address, ownConnection);
  });

  after(async () => {
    chat?.close();
    await orchestrator?.close(1000);
    await history?.close(1000);
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps a Chat client's p50 within 2× of its own beside 12 batches of 1000, which share the rest evenly", async (t) => {
    await chatLatencies(chat, "warm-up", 5, 30_000);
    const alone = median(await chatLatencies(chat, "alone", 15, 30_000));

    const stop = new AbortController();
    setMaxListeners(BATCHES + 1, stop.signal);
    const batches = startBatches(orchestrator.address, stop.signal);
    let peakTasks = 0;
    const watching = (async () => {
      while (!stop.signal.aborted) {
        const status = await chat.getStatus({}, within(5000));
        const tasks = status.pools.reduce((sum, pool) => sum + pool.queued + pool.inFlight, 0);
        peakTasks = Math.max(peakTasks, tasks);
        await delay(100);
      }
    })();
    // Every batch is under way before the Chat client measures.
    for (let waited = 0; batches.answered.some((n) => n === 0) && waited < 30_000; waited += 100) {
      await delay(100);
    }
    const before = [...batches.answered];
    const loadedLatencies = await chatLatencies(chat, "loaded", 21, LOADED_WINDOW_MS);
    const progress = batches.answered.map((n, b) => n - (before[b] ?? 0));
    const modelPeak = sim.stats().peakRunning;
    const finishedEarly = batches.finished();
    stop.abort();
    await Promise.all([batches.done, watching]);

    const loaded = median(loadedLatencies);
    t.diagnostic(
      `chat p50 alone ${alone.toFixed(0)} ms, beside ${BATCHES} batches ${loaded.toFixed(0)} ms ` +
        `(${(loaded / alone).toFixed(2)}×, ${loadedLatencies.length} chats); batch items answered meanwhile ` +
        `${progress.join(" ")}; peak tasks ${peakTasks}, peak model sequences ${modelPeak}`,
    );
    assert.equal(finishedEarly, 0, "every batch was still running when the Chat client finished");
    assert.ok(loadedLatencies.length >= 5, `only ${loadedLatencies.length} chats in ${LOADED_WINDOW_MS} ms`);
    assert.ok(
      loaded <= MOST_SLOWDOWN * alone,
      `chat p50 beside the batches ${loaded.toFixed(0)} ms > ${MOST_SLOWDOWN} × ${alone.toFixed(0)} ms alone`,
    );
    assert.deepEqual(batches.failures, [], "no batch item was refused or failed");
    // Every batch item and Chat is a turn: at most MAX_TURNS at once, a Chat's three tasks the most per turn.
    assert.ok(peakTasks <= MAX_TURNS + 2, `peak ${peakTasks} tasks queued or running`);
    assert.ok(modelPeak <= MAX_TURNS + 2, `peak ${modelPeak} sequences at the model`);
    assert.ok(
      Math.min(...progress) >= Math.max(...progress) / 2,
      `batches progressed unevenly: ${progress.join(" ")}`,
    );
  });
});
