import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { GetStatusResponseSchema, ScalingEventSchema } from "@chorus/proto";
import { poolBlocks } from "./batch-progress.js";
import { formatBlocks, formatScalingEvent } from "./format.js";

const status = create(GetStatusResponseSchema, {
  pools: [
    { agent: "creative", blocksByState: { RUNNING: 3, PENDING: 1 }, replicas: [{}, {}, {}, {}] },
    { agent: "analytical", blocksByState: { RUNNING: 2 }, replicas: [{}, {}] },
  ],
});

describe("pool block display", () => {
  it("shows running blocks per pool with pending ones as +N", () => {
    assert.equal(poolBlocks(status), "creative 3+1, analytical 2");
  });

  it("lists a pool's blocks by state in a stable order", () => {
    assert.equal(formatBlocks(status.pools[0] ?? assert.fail()), "4 blocks (PENDING 1, RUNNING 3)");
  });

  it("prints a scaling event on one line with its pool, reason and change", () => {
    const event = create(ScalingEventSchema, {
      timestampMs: 0n,
      pool: "creative",
      blocksBefore: 1,
      blocksAfter: 4,
      reason: "admission",
      tasks: 40,
      slots: 2,
      strategy: "chorus",
      detail: "40 tasks need more than 2 slots",
    });
    assert.match(
      formatScalingEvent(event),
      /creative +admission +1 -> 4 blocks +tasks 40, slots 2 +\(chorus: 40 tasks/,
    );
  });
});
