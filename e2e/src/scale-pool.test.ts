import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { type ChorusUp, startChorusUp } from "@chorus/cli/testing";
import { ChatService, type PoolStatus } from "@chorus/proto";
import { createClient, type PromiseClient } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { ScalingWatcher } from "./testing/scaling-watcher.js";

const soon = () => ({ deadline: new Date(Date.now() + 10_000) });

function expectStatus(code: status, details: RegExp) {
  return (err: { code?: number; details?: string }) => {
    assert.equal(err.code, code, `expected ${status[code]}, got ${err.code}: ${err.details}`);
    assert.match(err.details ?? "", details);
    return true;
  };
}

describe("ScalePool against chorus up", { timeout: 60_000 }, () => {
  let mesh: ChorusUp;
  let chat: PromiseClient<typeof ChatService>;
  let watcher: ScalingWatcher;
  const pool = async (name: string): Promise<PoolStatus> =>
    (await chat.getStatus({}, soon())).pools.find((p) => p.agent === name) ?? assert.fail(`no pool ${name}`);
  /** Waits (bounded) until `name` has exactly `blocks` RUNNING blocks and no others. */
  const settlesAt = async (name: string, blocks: number): Promise<PoolStatus> => {
    let current = await pool(name);
    for (
      let i = 0;
      i < 80 && !(current.replicas.length === blocks && current.blocksByState.RUNNING === blocks);
      i++
    ) {
      await delay(250);
      current = await pool(name);
    }
    assert.deepEqual(
      current.blocksByState,
      { RUNNING: blocks },
      `pool ${name}; events: ${watcher.describe()}`,
    );
    return current;
  };
  before(async () => {
    mesh = await startChorusUp();
    chat = createClient(ChatService, mesh.address);
    watcher = new ScalingWatcher(mesh.address);
    await settlesAt("balanced", 1);
  });
  after(async () => {
    await watcher.stop();
    chat.close();
    await mesh.stop();
  });

  it("refuses a count out of bounds or an unknown pool with a status naming the problem, and changes nothing", async () => {
    const { maxBlocks } = (await pool("balanced")).scaling ?? assert.fail("no scaling settings");
    const refusals: Array<[string, number, status, RegExp]> = [
      [
        "balanced",
        maxBlocks + 1,
        status.INVALID_ARGUMENT,
        /^blocks: \d+ exceeds max_blocks \d+ of pool "balanced"$/,
      ],
      ["balanced", -1, status.INVALID_ARGUMENT, /^blocks: must be a whole number >= 0, got -1$/],
      [
        "poet",
        1,
        status.NOT_FOUND,
        /^pool: no agent pool named "poet" \(pools: creative, analytical, balanced\)$/,
      ],
      ["", 1, status.INVALID_ARGUMENT, /^pool: must name an agent pool$/],
    ];
    for (const [name, blocks, code, details] of refusals) {
      await assert.rejects(chat.scalePool({ pool: name, blocks }, soon()), expectStatus(code, details));
    }
    await delay(300);
    assert.deepEqual(
      watcher.events.filter((e) => e.reason === "manual"),
      [],
      "a refused ScalePool publishes no event",
    );
    assert.equal((await pool("balanced")).replicas.length, 1);
  });

  it("a count within bounds takes effect: the reply, WatchScaling and GetStatus agree", async () => {
    const { maxBlocks } = (await pool("balanced")).scaling ?? assert.fail("no scaling settings");
    const { event } = await chat.scalePool({ pool: "balanced", blocks: maxBlocks }, soon());
    assert.ok(event);
    assert.deepEqual(
      [event.pool, event.reason, event.blocksBefore, event.blocksAfter, event.blockIds.length],
      ["balanced", "manual", 1, maxBlocks, maxBlocks - 1],
    );
    assert.match(event.detail, new RegExp(`^set by hand to ${maxBlocks}$`));
    const seen = await watcher.waitFor("the manual event", (e) => e.reason === "manual", 5000);
    assert.deepEqual(seen, event);
    const settled = await settlesAt("balanced", maxBlocks);
    for (const id of event.blockIds)
      assert.ok(
        settled.replicas.some((r) => r.id === id),
        `${id} is running`,
      );
    assert.equal((await pool("creative")).replicas.length, 1, "other pools are left alone");
  });

  it("a count below min_blocks is raised to min_blocks, and the event says so", async () => {
    const { minBlocks, maxBlocks } = (await pool("balanced")).scaling ?? assert.fail("no scaling settings");
    assert.ok(minBlocks > 0, "the default pools keep a warm block");
    const { event } = await chat.scalePool({ pool: "balanced", blocks: 0 }, soon());
    assert.deepEqual(
      [event?.reason, event?.blocksBefore, event?.blocksAfter, event?.blockIds.length],
      ["manual", maxBlocks, minBlocks, maxBlocks - minBlocks],
    );
    assert.equal(event?.detail, `set by hand to 0, raised to min_blocks ${minBlocks}`);
    await settlesAt("balanced", minBlocks);
  });
});
