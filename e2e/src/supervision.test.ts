import assert from "node:assert/strict";
import { mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { type ChorusUp, startChorusUp } from "@chorus/cli/testing";
import { ChatService, HistoryService } from "@chorus/proto";
import { createClient, type PromiseClient } from "@chorus/shared";
import { reconcile, runLoad, servingAgain, storedTurnIds, type TurnOutcome } from "@chorus/shared/testing";

const soon = () => ({ deadline: new Date(Date.now() + 30_000) });
// Clients that notice a restarted peer at once (grpc-js would otherwise back off for a second or more).
const fastReconnect = { "grpc.initial_reconnect_backoff_ms": 50, "grpc.max_reconnect_backoff_ms": 200 };

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves with the first pid `service` has other than `old`, and when it was seen (polling the pids file). */
async function restartedPid(mesh: ChorusUp, service: string, old: number | undefined, timeoutMs: number) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const pid = mesh.pids()[service];
    if (pid !== undefined && pid !== old) return { pid, at: Date.now() };
    await delay(25);
  }
  throw new Error(`${service} was not restarted within ${timeoutMs} ms:\n${mesh.output()}`);
}

function failures(outcomes: readonly TurnOutcome[]): string[] {
  return outcomes.filter((o) => !o.ok).map((o) => `${o.turnId}: ${o.error}`);
}

/** A mesh under `chorus up`, with a client for its ChatService and one for its HistoryService. */
function meshFixture(overrides: Record<string, unknown> = {}) {
  const fixture = {} as {
    mesh: ChorusUp;
    chat: PromiseClient<typeof ChatService>;
    history: PromiseClient<typeof HistoryService>;
  };
  before(async () => {
    fixture.mesh = await startChorusUp(overrides);
    fixture.chat = createClient(ChatService, fixture.mesh.address, fastReconnect);
    fixture.history = createClient(HistoryService, fixture.mesh.address, fastReconnect);
  });
  after(async () => {
    fixture.chat?.close();
    fixture.history?.close();
    await fixture.mesh?.stop();
  });
  return fixture;
}

describe("chorus up when history is SIGKILLed under load", () => {
  const f = meshFixture();

  it("restarts history on the same address; every turn succeeds and history holds each exactly once", async (t) => {
    const historyBefore = (await f.chat.getStatus({}, soon())).components.find((c) => c.name === "history");
    const victim = f.mesh.pids().history;
    assert.ok(victim);
    let restart: Promise<{ pid: number; at: number }> | undefined;
    let killedAt = 0;
    const outcomes = await runLoad(f.chat, {
      count: 160,
      perSecond: 20,
      callTimeoutMs: 30_000,
      onSend: (i) => {
        if (i !== 40) return;
        killedAt = Date.now();
        process.kill(victim, "SIGKILL");
        restart = restartedPid(f.mesh, "history", victim, 10_000);
      },
    });
    const restarted = await restart;
    assert.ok(restarted);
    const result = reconcile(outcomes, await storedTurnIds(f.history));
    const slowest = Math.max(...outcomes.map((o) => o.endedAt - o.sentAt));
    t.diagnostic(`history back (pid ${restarted.pid}) ${restarted.at - killedAt} ms after the kill`);
    t.diagnostic(
      `${result.ok}/160 ok, ${result.failed.length} failed, ${result.lost.length} lost; slowest ${slowest} ms`,
    );
    assert.deepEqual(failures(outcomes), [], "no turn failed");
    assert.equal(result.ok, 160);
    assert.deepEqual(result.lost, [], "every answered turn is stored");
    assert.deepEqual([result.duplicated, result.storedButFailed, result.unknown], [[], [], []]);
    assert.equal(f.mesh.process.exitCode, null, "chorus up still runs");
    const status = await f.chat.getStatus({}, soon());
    const history = status.components.find((c) => c.name === "history");
    assert.equal(history?.detail, historyBefore?.detail, "history is back on the same address");
    const supervisor = status.components.find((c) => c.name === "supervisor");
    assert.equal(supervisor?.healthy, true);
    assert.match(
      supervisor?.detail ?? "",
      new RegExp(
        `history up \\(pid ${restarted.pid}\\), 1 restart \\(last died: SIGKILL, back in \\d+ ms\\)`,
      ),
    );
    assert.match(f.mesh.output(), /chorus: history died \(SIGKILL\); restarting in \d+ ms/);
    assert.match(f.mesh.output(), /chorus: history restarted at \S+ \(pid \d+\), \d+ ms after it died/);
  });
});

describe("chorus up when the simulator is SIGKILLed under load", () => {
  const f = meshFixture();

  it("keeps the mesh running, restarts the simulator, and turns succeed again within seconds of its restart", async (t) => {
    const before = f.mesh.pids();
    const victim = before["llm-sim"];
    assert.ok(victim);
    let restart: Promise<{ pid: number; at: number }> | undefined;
    let killedAt = 0;
    const outcomes = await runLoad(f.chat, {
      count: 120,
      perSecond: 15,
      callTimeoutMs: 20_000,
      onSend: (i) => {
        if (i !== 30) return;
        killedAt = Date.now();
        process.kill(victim, "SIGKILL");
        restart = restartedPid(f.mesh, "llm-sim", victim, 10_000);
      },
    });
    const restarted = await restart;
    assert.ok(restarted);
    const after = f.mesh.pids();
    assert.equal(f.mesh.process.exitCode, null, "chorus up still runs");
    assert.deepEqual([after.history, after.orchestrator], [before.history, before.orchestrator]);
    const sentAfter = outcomes.filter((o) => o.sentAt >= restarted.at);
    const firstOk = Math.min(...sentAfter.filter((o) => o.ok).map((o) => o.endedAt));
    const settled = sentAfter.filter((o) => o.sentAt >= restarted.at + 2000);
    const result = reconcile(outcomes, await storedTurnIds(f.history));
    t.diagnostic(
      `simulator back ${restarted.at - killedAt} ms after the kill; first turn ok ${firstOk - restarted.at} ms after`,
    );
    t.diagnostic(
      `${result.ok}/120 ok, ${result.failed.length} failed (all while it was down), ${result.lost.length} lost`,
    );
    assert.ok(settled.length >= 20, `${settled.length} turns were sent 2 s after the restart`);
    assert.deepEqual(failures(settled), [], "every turn sent from 2 s after the restart succeeds");
    assert.ok(firstOk - restarted.at <= 2000, `first success ${firstOk - restarted.at} ms after the restart`);
    assert.deepEqual(result.lost, [], "every answered turn is stored");
    assert.deepEqual([result.duplicated, result.storedButFailed, result.unknown], [[], [], []]);
    const supervisor = (await f.chat.getStatus({}, soon())).components.find((c) => c.name === "supervisor");
    assert.match(supervisor?.detail ?? "", /llm-sim up \(pid \d+\), 1 restart \(last died: SIGKILL/);
  });
});

describe("chorus up when the orchestrator is SIGKILLed under load", () => {
  const f = meshFixture();

  it("is SERVING again within 2 s; clients retrying with the same turn id get exactly one stored turn each", async (t) => {
    const victim = f.mesh.pids().orchestrator;
    assert.ok(victim);
    let serving: Promise<number> | undefined;
    let killedAt = 0;
    const outcomes = await runLoad(f.chat, {
      count: 120,
      perSecond: 15,
      callTimeoutMs: 15_000,
      retryForMs: 30_000,
      onSend: (i) => {
        if (i !== 30) return;
        killedAt = Date.now();
        process.kill(victim, "SIGKILL");
        serving = servingAgain(f.mesh.address, 15_000);
      },
    });
    const back = (await serving) ?? 0;
    const result = reconcile(outcomes, await storedTurnIds(f.history));
    const retried = outcomes.filter((o) => o.attempts > 1);
    t.diagnostic(`SERVING ${back - killedAt} ms after the kill`);
    t.diagnostic(
      `${retried.length} turns retried, ${retried.filter((o) => o.replayed).length} of them answered from history; ` +
        `${result.failed.length} failed, ${result.lost.length} lost, ${result.duplicated.length} duplicated`,
    );
    assert.ok(back - killedAt <= 2000, `SERVING ${back - killedAt} ms after the kill`);
    assert.ok(retried.length > 0, "the kill interrupted some turns");
    assert.deepEqual(failures(outcomes), [], "every turn succeeded, at last on a retry");
    assert.deepEqual(result.lost, [], "every answered turn is stored");
    assert.deepEqual([result.duplicated, result.unknown], [[], []], "exactly one stored turn per turn id");
    assert.notEqual(f.mesh.pids().orchestrator, victim);
    assert.equal(f.mesh.process.exitCode, null, "chorus up still runs");
  });
});

describe("chorus up when a service crash-loops", () => {
  const supervisor = {
    restart_backoff_ms: 50,
    max_restart_backoff_ms: 200,
    crash_loop_restarts: 2,
    crash_loop_window_seconds: 60,
  };
  let mesh: ChorusUp;
  before(async () => {
    mesh = await startChorusUp({ supervisor });
  });
  after(() => mesh.stop());

  it("stops the whole mesh after crash_loop_restarts failed restarts, saying which service and why", async (t) => {
    const pids = mesh.pids();
    // History can no longer open its database: a directory now stands at its path.
    const database = join(mesh.dir, "data", "chorus.db");
    renameSync(database, `${database}.moved`);
    mkdirSync(database);
    const exited = new Promise<number | null>((resolve) =>
      mesh.process.once("exit", (code) => resolve(code)),
    );
    const killedAt = Date.now();
    process.kill(pids.history ?? 0, "SIGKILL");
    const timeout = delay(30_000).then(() => "timeout" as const);
    const code = await Promise.race([exited, timeout]);
    t.diagnostic(`chorus up exited ${Date.now() - killedAt} ms after the kill`);
    assert.equal(code, 1, `chorus up exits with 1:\n${mesh.output()}`);
    const output = mesh.output();
    assert.match(
      output,
      /chorus: history died \(SIGKILL\); restarting in 50 ms \(crash 1 of at most 2 in 60 s\)/,
    );
    assert.match(output, /history died \(exited with code 1 before it was ready\); restarting in 100 ms/);
    assert.match(
      output,
      /chorus: history crashed 3 times within 60 s \(supervisor\.crash_loop_restarts: 2\); last: exited with code 1 before it was ready: stopping the mesh/,
    );
    assert.doesNotMatch(output, /history restarted/);
    await delay(500);
    assert.deepEqual(
      [alive(pids.orchestrator), alive(pids["llm-sim"])],
      [false, false],
      "the orchestrator and the simulator are stopped",
    );
  });
});
