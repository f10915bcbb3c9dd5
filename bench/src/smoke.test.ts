import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SMOKE } from "./options.js";
import { encodePng } from "./plot/png.js";
import { percentile, summarize } from "./stats.js";
import { runBench } from "./suite.js";

const BUNDLE = new URL("../../tools/cli/dist/chorus.mjs", import.meta.url).pathname;

function hasRedis(): boolean {
  try {
    execFileSync(process.env.REDIS_SERVER ?? "redis-server", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("bench statistics and plots", () => {
  it("interpolates percentiles between ranks", () => {
    assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
    assert.equal(percentile([10], 99), 10);
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.deepEqual(summarize([3, 1, 2]), { n: 3, mean: 2, p50: 2, p95: 2.9, p99: 2.98, max: 3 });
  });

  it("encodes a PNG with a valid signature and IHDR", () => {
    const png = encodePng(2, 1, new Uint8Array([255, 0, 0, 0, 0, 255]));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(png.subarray(12, 16).toString("ascii"), "IHDR");
    assert.equal(png.readUInt32BE(16), 2);
    assert.equal(png.readUInt32BE(20), 1);
  });
});

describe("bench smoke", () => {
  it("runs every section briefly and writes JSON, markdown and PNG plots", {
    timeout: 240_000,
  }, async (t) => {
    if (!existsSync(BUNDLE)) {
      t.skip(`SKIPPED LOUDLY: ${BUNDLE} is missing; run npm run build (npm test does)`);
      return;
    }
    const out = mkdtempSync(join(tmpdir(), "chorus-bench-smoke-test-"));
    try {
      const { results, markdownPath, plots } = await runBench(
        { ...SMOKE, redis: SMOKE.redis && hasRedis() },
        out,
      );
      assert.deepEqual(results.errors, []);
      const zero = results.profiles.find((p) => p.profile === "zero");
      assert.ok(zero, "the zero profile ran");
      assert.equal(zero.chorus.length, SMOKE.levels.zero.length);
      for (const run of [...zero.chorus, ...zero.echo]) {
        assert.ok(run.perSecond > 0, `${run.system} c=${run.concurrency} made progress`);
        assert.equal(run.failed, 0, `${run.system} c=${run.concurrency}: ${JSON.stringify(run.errors)}`);
      }
      assert.ok((results.scaling?.points.length ?? 0) > 0, "the replicas sweep ran");
      assert.ok(results.autoscale.length > 0, "the load step ran");
      assert.ok((results.soak?.series.length ?? 0) > 0, "the soak watched the services");
      assert.ok(results.machine.uptimeBefore.includes("load average"));
      assert.match(readFileSync(markdownPath, "utf8"), /## Targets/);
      assert.ok(plots.includes("latency-cdf-zero.png") && plots.includes("blocks.png"));
      const png = readFileSync(join(out, "latency-cdf-zero.png"));
      assert.equal(png.subarray(1, 4).toString("ascii"), "PNG");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
