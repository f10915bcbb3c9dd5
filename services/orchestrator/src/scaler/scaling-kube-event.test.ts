import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ScalingEvent } from "./scaling-events.js";
import {
  type CarriedEvent,
  decodeCarried,
  encodeCarried,
  eventMessage,
  eventReason,
  eventType,
} from "./scaling-kube-event.js";

const scaleOut: ScalingEvent = {
  timeMs: 1_700_000_000_000,
  pool: "creative",
  blocksBefore: 1,
  blocksAfter: 3,
  reason: "scale_out",
  tasks: 12,
  slots: 2,
  strategy: "chorus",
  detail: "12 tasks need 6 blocks of 2 slots; max_blocks 3",
  blockIds: ["chorus-agent-creative/requested-1", "chorus-agent-creative/requested-2"],
};

describe("scaling events as Kubernetes Events", () => {
  it("writes each scaling reason as a Kubernetes reason, Warning only for what went wrong", () => {
    const table: Array<[string, string, string]> = [
      ["scale_out", "ScaleOut", "Normal"],
      ["scale_in", "ScaleIn", "Normal"],
      ["min_restore", "MinRestore", "Normal"],
      ["admission", "Admission", "Normal"],
      ["manual", "Manual", "Normal"],
      ["init", "Init", "Normal"],
      ["replace_failed", "ReplaceFailed", "Normal"],
      ["block_failed", "BlockFailed", "Warning"],
      ["host_limit", "HostLimit", "Warning"],
    ];
    for (const [reason, kubernetes, type] of table) {
      assert.equal(eventReason(reason), kubernetes, reason);
      assert.equal(eventType(reason), type, reason);
    }
  });

  it("says in the message what changed, blocks before and after, tasks, slots, strategy and why", () => {
    assert.equal(
      eventMessage(scaleOut),
      "scale out: 1 -> 3 blocks (12 tasks, 2 slots, strategy chorus): " +
        "12 tasks need 6 blocks of 2 slots; max_blocks 3; " +
        "blocks chorus-agent-creative/requested-1, chorus-agent-creative/requested-2",
    );
  });

  it("keeps the message within 1024 characters and names at most five blocks", () => {
    const ids = Array.from({ length: 8 }, (_, i) => `pod-${i}`);
    const long = eventMessage({ ...scaleOut, blockIds: ids, detail: "x".repeat(2000) });
    assert.equal(long.length, 1024);
    assert.match(eventMessage({ ...scaleOut, blockIds: ids }), /pod-4 and 3 more$/);
  });

  it("carries scaling events in an annotation that decodes to the same events", () => {
    const carried: CarriedEvent[] = [
      { ...scaleOut, id: "leader_1#1" },
      { ...scaleOut, id: "leader_1#2", reason: "scale_in", blocksBefore: 3, blocksAfter: 1, blockIds: [] },
    ];
    assert.deepEqual(decodeCarried(encodeCarried(carried)), carried);
  });

  it("drops malformed carried entries and values instead of passing them on", () => {
    const good = { ...scaleOut, id: "a#1" };
    const text = JSON.stringify([good, { ...good, blocksAfter: -1 }, { ...good, strategy: "magic" }, 7]);
    assert.deepEqual(decodeCarried(text), [good]);
    for (const bad of [undefined, "", "{", '{"id":"a#1"}']) assert.deepEqual(decodeCarried(bad), []);
  });

  it("drops the oldest carried events when the annotation would pass 32 KiB", () => {
    const big = Array.from({ length: 40 }, (_, i) => ({
      ...scaleOut,
      id: `a#${i}`,
      detail: "d".repeat(1000),
    }));
    const kept = decodeCarried(encodeCarried(big));
    assert.ok(encodeCarried(big).length <= 32_768);
    assert.ok(kept.length > 0 && kept.length < 40);
    assert.equal(kept.at(-1)?.id, "a#39", "the newest stays");
  });
});
