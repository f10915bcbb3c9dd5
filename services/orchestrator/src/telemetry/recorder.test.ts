import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import { Recorder, type TaskRecord } from "./recorder.js";

const task = (overrides: Partial<TaskRecord>): TaskRecord => ({
  outcome: "ok",
  cached: false,
  latencyMs: 100,
  attempts: 1,
  promptTokens: 10,
  completionTokens: 20,
  ...overrides,
});

/** The value of one Prometheus sample line, e.g. `chorus_turns_total{ok="true"}`. */
function sample(text: string, name: string, labels: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  assert.ok(line, `no ${name} with ${labels} in:\n${text}`);
  return Number(line.split(" ").at(-1));
}

describe("Recorder", () => {
  it("gives GetStats and Prometheus the same turns: 100 answered in 1..100 ms, 2 failed", async () => {
    const registry = new Registry();
    const recorder = new Recorder(registry, { windowMs: 60_000 });
    for (let ms = 1; ms <= 100; ms += 1) {
      recorder.turnStarted(1_000 + ms);
      recorder.turnFinished(true, ms, 2_000 + ms);
    }
    for (let i = 0; i < 2; i += 1) {
      recorder.turnStarted(3_000);
      recorder.turnFinished(false, 5, 3_000);
    }
    const { stats } = recorder;
    assert.deepEqual([stats.total, stats.succeeded, stats.failed], [102, 100, 2]);
    assert.deepEqual(stats.latency(), { avg: 50.5, min: 1, max: 100, p50: 50, p95: 95, p99: 99 });
    const text = await registry.metrics();
    assert.equal(sample(text, "chorus_turns_total", 'ok="true"'), 100);
    assert.equal(sample(text, "chorus_turns_total", 'ok="false"'), 2);
    assert.match(text, /^chorus_turn_duration_seconds_count 100$/m);
    assert.match(text, /^chorus_turn_duration_seconds_sum 5\.05\d*$/m);
    assert.equal(sample(text, "chorus_turn_duration_seconds_bucket", 'le="0.1"'), 100);
    assert.equal(sample(text, "chorus_turn_duration_seconds_bucket", 'le="0.05"'), 50);
  });

  it("counts cache hits and misses once for both views, and keeps cached answers out of agent latency", async () => {
    const registry = new Registry();
    const recorder = new Recorder(registry, { windowMs: 60_000 });
    // Each agent: one miss answered in 100 ms, then four hits of the same question.
    for (const agent of ["creative", "analytical", "balanced"]) {
      recorder.taskStarted(agent);
      recorder.cacheLookup(agent, false);
      recorder.taskFinished(agent, task({}));
      for (let i = 0; i < 4; i += 1) {
        recorder.taskStarted(agent);
        recorder.cacheLookup(agent, true);
        recorder.taskFinished(agent, task({ cached: true, latencyMs: 1, attempts: 0 }));
      }
    }
    const { stats } = recorder;
    assert.deepEqual([stats.cacheHits, stats.cacheMisses], [12, 3]);
    const text = await registry.metrics();
    assert.equal(sample(text, "chorus_cache_lookups_total", 'result="hit"'), 12);
    assert.equal(sample(text, "chorus_cache_lookups_total", 'result="miss"'), 3);
    const creative = stats.agent("creative");
    assert.deepEqual(
      [creative.requests, creative.succeeded, creative.cacheHits, creative.llmCalls, creative.timed],
      [5, 5, 4, 1, 1],
    );
    assert.equal(creative.latencyMsTotal / creative.timed, 100);
    assert.equal(sample(text, "chorus_agent_task_duration_seconds_count", 'agent="creative"'), 1);
  });

  it("does not count a task stopped because aggregation settled as an error or in latency", () => {
    const recorder = new Recorder(new Registry(), { windowMs: 60_000 });
    recorder.taskFinished("creative", task({ outcome: "failed", latencyMs: 30, promptTokens: 0 }));
    recorder.taskFinished("creative", task({ outcome: "stopped", latencyMs: 5_000, promptTokens: 0 }));
    const creative = recorder.stats.agent("creative");
    assert.deepEqual(
      [creative.errors, creative.succeeded, creative.timed, creative.latencyMsTotal],
      [1, 0, 1, 30],
    );
    assert.equal(creative.llmCalls, 2, "both reached a replica");
  });

  it("reports each pool's utilization over the window, to GetStats and as a Prometheus gauge", async () => {
    const registry = new Registry();
    let now = 0;
    const recorder = new Recorder(registry, { windowMs: 60_000, now: () => now });
    recorder.poolLoad("creative", 0, 4);
    now = 10_000;
    recorder.poolLoad("creative", 4, 4);
    now = 15_000;
    recorder.poolLoad("creative", 0, 4);
    now = 20_000;
    assert.equal(recorder.utilization("creative"), 0.25);
    assert.equal(recorder.utilization("unknown"), 0);
    assert.equal(sample(await registry.metrics(), "chorus_pool_utilization", 'pool="creative"'), 0.25);
  });
});
