// Issue 11's fault scenarios that count outcomes under bounded load: a model failing 30% of its
// requests, clients cancelling turns in flight, and one agent replica SIGSTOPped for 20 s.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { asOrchestrator, type ChorusUp, startChorusUp } from "@chorus/cli/testing";
import { AgentService, ChatService, type GetStatusResponse, HistoryService } from "@chorus/proto";
import { codeOf, createClient, type PromiseClient } from "@chorus/shared";
import { reconcile, runLoad, storedAnswers, type TurnOutcome } from "@chorus/shared/testing";

const soon = () => ({ deadline: new Date(Date.now() + 30_000) });
const PERSONAS = ["creative", "analytical", "balanced"];

const persona = (name: string, scaling: Record<string, unknown>, workers = 2) => ({
  name,
  temperature: 0.5,
  max_tokens: 200,
  system_prompt: `You are the ${name} assistant.`,
  workers,
  scaling,
});

/** A mesh under `chorus up` with clients for ChatService and HistoryService. */
function meshFixture(overrides: Record<string, unknown>) {
  const f = {} as {
    mesh: ChorusUp;
    chat: PromiseClient<typeof ChatService>;
    history: PromiseClient<typeof HistoryService>;
  };
  before(async () => {
    f.mesh = await startChorusUp(overrides);
    f.chat = createClient(ChatService, f.mesh.address);
    f.history = createClient(HistoryService, f.mesh.address);
  });
  after(async () => {
    f.chat?.close();
    f.history?.close();
    await f.mesh?.stop();
  });
  return f;
}

/** Polls GetStatus every 100 ms while `body` runs; resolves with its result and the most blocks any pool had. */
async function watchingBlocks<T>(chat: PromiseClient<typeof ChatService>, body: () => Promise<T>) {
  let most = 0;
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const status = await chat.getStatus({}, soon());
      for (const pool of status.pools) most = Math.max(most, pool.replicas.length);
      await delay(100);
    }
  })();
  try {
    return { result: await body(), mostBlocks: most };
  } finally {
    watching = false;
    await watch;
  }
}

async function agentInFlight(mesh: ChorusUp, status: GetStatusResponse): Promise<number[]> {
  const counts: number[] = [];
  for (const replica of status.pools.flatMap((p) => p.replicas)) {
    const agent = createClient(AgentService, replica.address, {}, asOrchestrator(mesh, "agent"));
    try {
      counts.push((await agent.describe({}, soon())).inFlight);
    } finally {
      agent.close();
    }
  }
  return counts;
}

describe("a model failing 30% of its requests (llm-sim failure_rate 0.3)", () => {
  const f = meshFixture({
    simulator: {
      ttft_ms: 20,
      ttft_std_ms: 0,
      itl_ms: 1,
      itl_std_ms: 0,
      tokens: 8,
      failure_rate: 0.3,
      seed: 11,
    },
    // Every pool may grow to 3 blocks on a fast period: only the model rule keeps them at 1.
    agents: PERSONAS.map((name) =>
      persona(name, {
        strategy: "chorus",
        init_blocks: 1,
        min_blocks: 1,
        max_blocks: 3,
        strategy_period: 0.2,
      }),
    ),
  });

  it("answers every turn (retried attempts), the breaker opens only briefly, no pool scales out, and history holds what clients got", async (t) => {
    const answers: Array<{ ok: boolean; attempts: number; error: string }> = [];
    const { result: outcomes, mostBlocks } = await watchingBlocks(f.chat, () =>
      runLoad(f.chat, { count: 150, perSecond: 15, callTimeoutMs: 20_000 }),
    );
    // The answers per agent come from history (the load keeps only the aggregated answer).
    for (const turn of outcomes.filter((o) => o.ok).slice(0, 150)) {
      const { turn: stored } = await f.history.getTurn({ turnId: turn.turnId }, soon());
      for (const a of stored?.agentAnswers ?? []) answers.push(a);
    }
    const result = reconcile(outcomes, await storedAnswers(f.history));
    const retried = answers.filter((a) => a.attempts > 1).length;
    const failedTasks = answers.filter((a) => !a.ok);
    const breakerOpen = failedTasks.filter((a) => /circuit breaker open/.test(a.error)).length;
    t.diagnostic(
      `${result.ok}/150 turns ok; ${answers.length} agent tasks, ${retried} retried, ${failedTasks.length} failed (${breakerOpen} by an open breaker); most blocks in a pool ${mostBlocks}`,
    );
    assert.equal(result.ok, 150, `failed: ${result.failed.map((o) => o.error).join("; ")}`);
    assert.equal(answers.length, 150 * PERSONAS.length);
    // 30% of first attempts fail on the model; three attempts leave ~2.7% of tasks failed, plus those
    // an open breaker fails at once (below).
    assert.ok(retried >= 150 * PERSONAS.length * 0.15, `${retried} tasks were retried`);
    assert.ok(failedTasks.length <= answers.length * 0.15, `${failedTasks.length} tasks failed`);
    // Five failures in a row open an agent's breaker: at 30% that happens now and then (0.3^5 ≈ 0.24%
    // of calls, retries included), and each opening fails that agent's tasks for one 500 ms cool-down
    // only; the turn still gets the other agents' answers.
    assert.ok(breakerOpen <= answers.length * 0.12, `${breakerOpen} tasks failed on an open breaker`);
    // No breaker stays open: each agent answers again within a few tries.
    for (const agent of PERSONAS) {
      let answered = false;
      for (let i = 0; i < 10 && !answered; i += 1) {
        const turn = await f.chat.chat({ message: `probe ${agent} ${i}`, agents: [agent] }, soon());
        answered = turn.agentAnswers[0]?.ok === true;
        if (!answered) await delay(300);
      }
      assert.ok(answered, `${agent} answers again`);
    }
    assert.equal(mostBlocks, 1, "no pool scaled out for model errors");
    assert.deepEqual(
      [result.lost, result.duplicated, result.mismatched, result.storedButFailed, result.unknown],
      [[], [], [], [], []],
    );
  });
});

describe("clients cancelling turns in flight", () => {
  const WORKERS = 2;
  const f = meshFixture({
    simulator: { ttft_ms: 300, ttft_std_ms: 50, itl_ms: 10, itl_std_ms: 2, tokens: 10 },
    agents: PERSONAS.map((name) =>
      persona(name, { strategy: "none", init_blocks: 2, min_blocks: 0, max_blocks: 2 }, WORKERS),
    ),
  });

  it("leaks no slot, stores no half turn, and keeps serving", async (t) => {
    const count = 60;
    const cancelled = new Set<number>();
    for (let i = 0; i < count; i += 3) cancelled.add(i);
    const outcomes: Array<TurnOutcome & { cancelled: boolean }> = [];
    const turns: Promise<void>[] = [];
    for (let i = 0; i < count; i += 1) {
      const turnId = `cancel-${randomUUID()}`;
      const controller = new AbortController();
      const sentAt = Date.now();
      if (cancelled.has(i)) setTimeout(() => controller.abort(), 20 + ((i * 37) % 400));
      turns.push(
        f.chat
          .chat({ message: `cancel me? ${turnId}`, turnId }, { ...soon(), signal: controller.signal })
          .then(
            (r) => ({ ok: true, code: 0, error: "", answer: r.answer, replayed: r.replayed }),
            (err: unknown) => ({
              ok: false,
              code: codeOf(err),
              error: String(err),
              answer: "",
              replayed: false,
            }),
          )
          .then((end) => {
            outcomes.push({
              ...end,
              turnId,
              sentAt,
              endedAt: Date.now(),
              attempts: 1,
              cancelled: cancelled.has(i),
            });
          }),
      );
      await delay(50);
    }
    await Promise.all(turns);
    const gaveUp = outcomes.filter((o) => !o.ok);
    t.diagnostic(`${gaveUp.length} of ${cancelled.size} cancelled turns ended before their answer`);
    assert.ok(gaveUp.length >= cancelled.size / 2, "most cancellations caught their turn in flight");
    assert.deepEqual(
      gaveUp.filter((o) => !o.cancelled).map((o) => o.error),
      [],
      "only cancelled turns failed",
    );
    // Slots come back once each replica says its cancelled task ended (bounded wait).
    let status = await f.chat.getStatus({}, soon());
    for (let i = 0; i < 100; i += 1) {
      status = await f.chat.getStatus({}, soon());
      if (status.pools.every((p) => p.inFlight === 0 && p.queued === 0)) break;
      await delay(50);
    }
    const replicas = status.pools.flatMap((p) => p.replicas);
    assert.equal(replicas.length, PERSONAS.length * 2);
    assert.deepEqual(
      replicas.map((r) => r.inFlight),
      replicas.map(() => 0),
      "the orchestrator holds no slot",
    );
    assert.deepEqual(
      await agentInFlight(f.mesh, status),
      replicas.map(() => 0),
      "no agent runs a task",
    );
    // A cancelled turn is stored whole or not at all; an answered one exactly as its client got it.
    const stored = await storedAnswers(f.history);
    const result = reconcile(outcomes, stored);
    assert.deepEqual([result.lost, result.duplicated, result.mismatched, result.unknown], [[], [], [], []]);
    for (const id of result.storedButFailed) {
      const { turn } = await f.history.getTurn({ turnId: id }, soon());
      assert.ok(turn?.answer, `stored cancelled turn ${id} has its answer`);
      assert.equal(turn?.agentAnswers.length, PERSONAS.length, `stored cancelled turn ${id} is whole`);
    }
    // Still serving: every slot can be used at once.
    const after = await Promise.all(
      Array.from({ length: WORKERS * 2 }, (_, i) => f.chat.chat({ message: `after ${i}` }, soon())),
    );
    assert.ok(after.every((r) => r.agentAnswers.every((a) => a.ok)));
  });
});

describe("one agent replica SIGSTOPped for 20 s under load", () => {
  const f = meshFixture({
    simulator: { ttft_ms: 100, ttft_std_ms: 10, itl_ms: 5, itl_std_ms: 1, tokens: 10 },
    orchestrator: { heartbeat_ms: 200, heartbeat_timeout_ms: 2000 },
    agents: [persona("steady", { strategy: "none", init_blocks: 2, min_blocks: 0, max_blocks: 2 }, 4)],
  });
  let stopped = 0;
  after(() => {
    if (stopped) {
      try {
        process.kill(stopped, "SIGCONT");
      } catch {
        // Killed as a hung replica: nothing to resume.
      }
    }
  });

  it("retries its tasks elsewhere: every turn answered, none by it after the stop, and it is replaced", async (t) => {
    let before = (await f.chat.getStatus({}, soon())).pools[0]?.replicas ?? [];
    for (let i = 0; i < 200 && before.filter((r) => r.state === "RUNNING" && r.address).length < 2; i += 1) {
      await delay(50);
      before = (await f.chat.getStatus({}, soon())).pools[0]?.replicas ?? [];
    }
    assert.equal(before.length, 2);
    const victim = before[0];
    assert.ok(victim);
    const agent = createClient(AgentService, victim.address, {}, asOrchestrator(f.mesh, "agent"));
    const { pid } = await agent.describe({}, soon());
    agent.close();
    let stoppedAt = 0;
    const outcomes = await runLoad(f.chat, {
      count: 300,
      perSecond: 10,
      callTimeoutMs: 30_000,
      onSend: (i) => {
        if (i === 50) {
          stoppedAt = Date.now();
          stopped = pid;
          process.kill(pid, "SIGSTOP");
        }
        if (i === 250) {
          try {
            process.kill(pid, "SIGCONT");
          } catch {
            // Already killed as a hung replica.
          }
        }
      },
    });
    const result = reconcile(outcomes, await storedAnswers(f.history));
    const late: string[] = [];
    for (const turn of outcomes.filter((o) => o.ok && o.sentAt > stoppedAt + 3000)) {
      const { turn: stored } = await f.history.getTurn({ turnId: turn.turnId }, soon());
      for (const a of stored?.agentAnswers ?? []) if (a.replica === victim.address) late.push(turn.turnId);
    }
    let now = (await f.chat.getStatus({}, soon())).pools[0]?.replicas ?? [];
    for (let i = 0; i < 200 && now.filter((r) => r.state === "RUNNING").length < 2; i += 1) {
      await delay(50);
      now = (await f.chat.getStatus({}, soon())).pools[0]?.replicas ?? [];
    }
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    t.diagnostic(`${result.ok}/300 ok; replicas now ${now.map((r) => `${r.id} ${r.state}`).join(", ")}`);
    assert.deepEqual(
      result.failed.map((o) => o.error),
      [],
      "every turn was answered",
    );
    assert.deepEqual(late, [], "no answer came from the stopped replica once it was declared lost");
    assert.equal(alive, false, "the stopped process was killed");
    assert.ok(!now.some((r) => r.id === victim.id), "it is no longer a replica");
    assert.equal(now.filter((r) => r.state === "RUNNING").length, 2, "a new replica took its place");
    assert.deepEqual(
      [result.lost, result.duplicated, result.mismatched, result.storedButFailed, result.unknown],
      [[], [], [], [], []],
    );
  });
});
