import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { type ChorusUp, startChorusUp } from "@chorus/cli/testing";
import { ChatService, HistoryService } from "@chorus/proto";
import { createClient, type PromiseClient } from "@chorus/shared";
import { reconcile, runLoad, storedTurnIds } from "@chorus/shared/testing";

const fastReconnect = { "grpc.initial_reconnect_backoff_ms": 50, "grpc.max_reconnect_backoff_ms": 200 };

/** The first pid `service` has other than `old` (polling chorus up's pids file). */
async function restartedPid(mesh: ChorusUp, old: number, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const pid = mesh.pids().history;
    if (pid !== undefined && pid !== old) return pid;
    await delay(25);
  }
  throw new Error(`history was not restarted within ${timeoutMs} ms:\n${mesh.output()}`);
}

describe("group-committed appends when history is SIGKILLed while they commit", () => {
  let mesh: ChorusUp;
  let chat: PromiseClient<typeof ChatService>;
  let history: PromiseClient<typeof HistoryService>;
  before(async () => {
    mesh = await startChorusUp();
    chat = createClient(ChatService, mesh.address, fastReconnect);
    history = createClient(HistoryService, mesh.address, fastReconnect);
  });
  after(async () => {
    chat?.close();
    history?.close();
    await mesh?.stop();
  });

  it("loses no turn a client saw answered and stores none twice, with many appends in flight on the stream at the kill", async (t) => {
    const count = 240;
    const victim = mesh.pids().history;
    assert.ok(victim);
    let restarted: Promise<number> | undefined;
    const outcomes = await runLoad(chat, {
      count,
      perSecond: 60,
      callTimeoutMs: 30_000,
      onSend: (i) => {
        if (i !== 80) return;
        process.kill(victim, "SIGKILL");
        restarted = restartedPid(mesh, victim, 10_000);
      },
    });
    assert.ok(await restarted, "history was restarted");
    const result = reconcile(outcomes, await storedTurnIds(history));
    t.diagnostic(`${result.ok}/${count} ok, ${result.failed.length} failed, ${result.lost.length} lost`);
    assert.deepEqual(result.lost, [], "every turn a client saw answered is stored");
    assert.deepEqual(result.duplicated, [], "no turn is stored twice");
    assert.deepEqual([result.storedButFailed, result.unknown], [[], []]);
    assert.deepEqual(
      outcomes.filter((o) => !o.ok).map((o) => `${o.turnId}: ${o.error}`),
      [],
      "the orchestrator rode out the restart: no turn failed",
    );
  });
});
