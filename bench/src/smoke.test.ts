import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { latestRun } from "./latest.js";
import { SMOKE } from "./options.js";
import { requireRedisServer } from "./redis-check.js";
import { percentile, summarize } from "./stats.js";
import { runBench } from "./suite.js";

const BUNDLE = new URL("../../tools/cli/dist/chorus.mjs", import.meta.url).pathname;

describe("bench statistics", () => {
  it("interpolates percentiles between ranks", () => {
    assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
    assert.equal(percentile([10], 99), 10);
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.deepEqual(summarize([3, 1, 2]), { n: 3, mean: 2, p50: 2, p95: 2.9, p99: 2.98, max: 3 });
  });
});

describe("bench without redis-server", () => {
  it("names redis-server and how to install it when the binary is missing", () => {
    assert.throws(
      () => requireRedisServer("/nonexistent/redis-server"),
      (err: Error) => {
        assert.match(err.message, /needs redis-server/);
        assert.match(err.message, /apt-get install redis-server/);
        assert.match(err.message, /REDIS_SERVER/);
        return true;
      },
    );
  });

  it("refuses to start a run with the cache section instead of dropping the section", async () => {
    const saved = process.env.REDIS_SERVER;
    const out = mkdtempSync(join(tmpdir(), "chorus-bench-noredis-test-"));
    process.env.REDIS_SERVER = "/nonexistent/redis-server";
    try {
      await assert.rejects(runBench({ ...SMOKE, sections: ["cache"] }, out), /apt-get install redis-server/);
    } finally {
      if (saved === undefined) delete process.env.REDIS_SERVER;
      else process.env.REDIS_SERVER = saved;
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe("bench smoke", () => {
  it("runs every section briefly and writes JSON, the latest pointer, markdown and SVG plots", {
    timeout: 360_000,
  }, async (t) => {
    if (!existsSync(BUNDLE)) {
      t.skip(`SKIPPED LOUDLY: ${BUNDLE} is missing; run npm run build (npm test does)`);
      return;
    }
    const out = mkdtempSync(join(tmpdir(), "chorus-bench-smoke-test-"));
    try {
      const { results, jsonPath, markdownPath, plots } = await runBench(SMOKE, out);
      assert.deepEqual(results.errors, []);
      const zero = results.profiles.find((p) => p.profile === "zero");
      assert.ok(zero, "the zero profile ran");
      assert.equal(zero.chorus.length, SMOKE.levels.zero.length);
      for (const run of [...zero.chorus, ...zero.echo]) {
        assert.ok(run.perSecond > 0, `${run.system} c=${run.concurrency} made progress`);
        assert.equal(run.failed, 0, `${run.system} c=${run.concurrency}: ${JSON.stringify(run.errors)}`);
      }
      assert.ok((results.cache?.hits.length ?? 0) > 0, "the cache section ran against redis-server");
      assert.ok((results.scaling?.points.length ?? 0) > 0, "the replicas sweep ran");
      assert.ok(results.autoscale.length > 0, "the load step ran");
      assert.ok((results.soak?.series.length ?? 0) > 0, "the soak watched the services");
      const chaos = results.chaos;
      assert.ok(
        chaos && chaos.windows.length > 0 && chaos.stalls.length > 0,
        "the chaos section injected faults",
      );
      assert.deepEqual(
        [chaos.lost, chaos.duplicated, chaos.mismatched],
        [0, 0, 0],
        "chaos: history holds what clients got",
      );
      const security = results.security;
      const plan = SMOKE.security;
      assert.ok(security && plan, "the security section ran");
      assert.deepEqual(
        security.points.map((p) => `${p.setup} c=${p.concurrency}`),
        ["plaintext", "mesh-mtls", "mtls-tls-key"].flatMap((s) => plan.levels.map((c) => `${s} c=${c}`)),
      );
      for (const point of security.points) {
        const name = `security ${point.setup} c=${point.concurrency}`;
        assert.equal(point.rounds.length, plan.rounds, `${name}: one run per round`);
        assert.ok(point.pooled.perSecond > 0 && point.pooled.latency.p50 > 0, `${name} made progress`);
        assert.equal(point.pooled.failed, 0, `${name}: ${JSON.stringify(point.pooled.errors)}`);
        assert.ok((point.pooled.usage?.services.length ?? 0) > 0, `${name}: CPU was watched`);
      }
      const straggler = results.straggler;
      assert.deepEqual(
        straggler?.phases.map((p) => p.id),
        ["healthy", "straggler", "straggler-hedged"],
      );
      for (const phase of straggler?.phases ?? []) {
        assert.ok(phase.run.perSecond > 0, `straggler ${phase.id} made progress`);
        assert.equal(phase.run.failed, 0, `straggler ${phase.id}: ${JSON.stringify(phase.run.errors)}`);
      }
      assert.equal(straggler?.phases[0]?.slowModel.requests, 0, "healthy: nothing reached the slow model");
      assert.ok(
        (straggler?.phases[1]?.slowModel.requests ?? 0) > 0,
        "the straggler's requests reached the slow model",
      );
      const backends = results.historyBackends?.points ?? [];
      assert.deepEqual(
        backends.map((p) => `${p.variant} c=${p.concurrency}`),
        ["sqlite", "postgres"].flatMap((b) =>
          (SMOKE.historyBackends?.levels ?? []).map((c) => `${b} c=${c}`),
        ),
      );
      for (const point of backends) {
        assert.ok(
          point.pooled.perSecond > 0,
          `history ${point.variant} c=${point.concurrency} made progress`,
        );
        assert.equal(
          point.pooled.failed,
          0,
          `history ${point.variant}: ${JSON.stringify(point.pooled.errors)}`,
        );
      }
      const tracing = results.tracing;
      assert.ok(tracing, "the tracing section ran or said why not");
      if (!tracing.skipped) {
        assert.ok(tracing.spans > 0, "the traced mesh sent spans to the collector");
        assert.ok(tracing.points.every((p) => p.pooled.perSecond > 0 && p.pooled.failed === 0));
      }
      for (const point of results.stream?.points ?? []) {
        assert.ok(
          point.chorus.tokens > 0 && point.direct.tokens > 0,
          `stream ${point.profile} counted tokens`,
        );
      }
      assert.equal(results.stream?.points.length, SMOKE.stream?.profiles.length, "the stream section ran");
      const issue12 = results.targets.find((t) => t.target.startsWith("zero, c=1: turn p50 ÷ direct p50"));
      assert.ok(issue12?.ratio !== undefined && issue12.ratio > 0, "the p50 ratio was computed");
      const cost = results.targets.find((t) => t.target.includes("public TLS + API keys cost"));
      assert.match(cost?.measured ?? "", /^cost -?\d/, "the cost at c=16 was computed");
      assert.ok(results.machine.uptimeBefore.includes("load average"));
      assert.equal(latestRun(out), jsonPath, "latest names the run's JSON");
      const markdown = readFileSync(markdownPath, "utf8");
      assert.match(markdown, /## Targets/);
      assert.match(markdown, /### Security: TLS and API keys against plaintext/);
      assert.match(markdown, /### Straggler: one `analytical` replica 10× slower/);
      assert.match(markdown, /### History on SQLite against PostgreSQL/);
      assert.match(markdown, /### Tracing on against off/);
      assert.match(markdown, /### CPU per token relayed by ChatStream/);
      assert.match(markdown, /#### CPU ms per turn, `zero`/);
      const files = plots.map((p) => p.file);
      assert.deepEqual(files, ["latency-cdf-zero.svg", "replicas.svg", "blocks.svg"]);
      // The smoke runs no Parsl: the CDF says so instead of leaving the series out silently.
      assert.deepEqual(plots[0]?.missing, ["Parsl HTEX"]);
      assert.match(markdown, /latency-cdf-zero\.svg: no data in this run for Parsl HTEX/);
      const svg = readFileSync(join(out, "latency-cdf-zero.svg"), "utf8");
      assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      assert.match(svg, />latency \(ms, log scale\)<\/text>/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
