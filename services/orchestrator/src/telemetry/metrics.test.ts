import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultAgents } from "@chorus/config";
import { Metrics } from "@chorus/shared";
import { Pool } from "../executor/pool.js";
import { ScalingEvents } from "../scaler/scaling-events.js";
import { poolMetrics } from "./metrics.js";

describe("poolMetrics", () => {
  it("exports blocks per pool and state, outstanding tasks, slots, hedges and scaling events by reason", async () => {
    const agent = defaultAgents[0] ?? assert.fail("no default agent");
    const pool = new Pool(agent, 10);
    pool.apply({ blockId: "b1", pool: pool.name, state: "RUNNING", address: "127.0.0.1:1" });
    pool.apply({ blockId: "b2", pool: pool.name, state: "PENDING" });
    const events = new ScalingEvents();
    const metrics = new Metrics("orchestrator-test");
    poolMetrics(metrics, new Map([[pool.name, pool]]), events);
    const event = {
      timeMs: Date.now(),
      pool: pool.name,
      blocksBefore: 1,
      blocksAfter: 2,
      reason: "admission",
      tasks: 5,
      slots: 4,
      strategy: "chorus",
      detail: "",
      blockIds: ["b2"],
    } as const;
    events.publish(event);
    events.publish(event);
    pool.hedges.sent = 3;
    pool.hedges.won = 2;
    const text = await metrics.registry.metrics();
    assert.match(text, /chorus_scaling_events_total\{[^}]*pool="creative"[^}]*reason="admission"[^}]*\} 2/);
    assert.match(text, /chorus_pool_replicas\{[^}]*pool="creative"[^}]*state="PENDING"[^}]*\} 1/);
    assert.match(text, /chorus_pool_slots\{[^}]*pool="creative"[^}]*\} 4/);
    assert.match(text, /chorus_pool_outstanding_tasks\{[^}]*pool="creative"[^}]*\} 0/);
    assert.match(text, /chorus_pool_hedged_tasks_total\{[^}]*pool="creative"[^}]*won="true"[^}]*\} 2/);
    assert.match(text, /chorus_pool_hedged_tasks_total\{[^}]*pool="creative"[^}]*won="false"[^}]*\} 1/);
    pool.blocks.get("b1")?.client?.close();
  });
});
