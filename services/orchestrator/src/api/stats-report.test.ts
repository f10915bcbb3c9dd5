import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { personas, turnInput, turnRig } from "../testing/turn-rig.js";
import { runTurn } from "../turn/turn.js";
import { statsReport } from "./stats-report.js";

describe("statsReport after a known workload of turns", () => {
  it("counts 15 turns of 5 questions asked 3 times: 15 misses then 30 hits, p95 at the slow turns", async () => {
    const slowMs = 200;
    const rig = turnRig({
      cache: true,
      config: { agents: personas({ cache_policy: "always" }) },
      agents: { creative: { delayMs: slowMs }, analytical: { delayMs: 10 }, balanced: { delayMs: 10 } },
    });
    const questions = Array.from({ length: 5 }, (_, i) => `question ${i}`);
    for (const round of [0, 1, 2]) {
      for (const question of questions) {
        const response = await runTurn(rig.deps, turnInput(question));
        assert.equal(response.cached, round > 0, `${question} in round ${round}`);
      }
    }
    const stats = statsReport(rig.config, rig.recorder);
    assert.deepEqual([stats.totalRequests, stats.successfulRequests, stats.failedRequests], [15n, 15n, 0n]);
    assert.deepEqual([stats.cacheMisses, stats.cacheHits], [15n, 30n]);
    // Five of fifteen turns waited for the slow agent: p95 is one of them, the median is not.
    assert.ok((stats.p95ResponseTimeMs ?? 0) >= slowMs, `p95 ${stats.p95ResponseTimeMs}`);
    assert.ok((stats.p50ResponseTimeMs ?? 0) < slowMs, `p50 ${stats.p50ResponseTimeMs}`);
    assert.ok((stats.minResponseTimeMs ?? 0) < slowMs && (stats.maxResponseTimeMs ?? 0) >= slowMs);
    for (const agent of stats.agents ?? []) {
      assert.deepEqual(
        [agent.requests, agent.llmCalls, agent.cacheHits, agent.errors, agent.successRate],
        [15n, 5n, 10n, 0n, 1],
        agent.agent,
      );
      assert.equal(agent.tokens, 5n * 30n, `${agent.agent}: tokens of the five model calls only`);
    }
    const creative = stats.agents?.find((a) => a.agent === "creative");
    assert.ok((creative?.avgLatencyMs ?? 0) >= slowMs, "cache hits do not dilute agent latency");
  });
});
