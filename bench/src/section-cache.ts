import { startRedisServer } from "@chorus/shared/testing";
import { Redis } from "ioredis";
import { measure, type RunRecord } from "./measure.js";
import { fixedPool, startMesh, startSimulatorProcess } from "./mesh.js";
import type { BenchOptions } from "./options.js";
import { openTarget } from "./targets.js";

/** Cache hits through Redis, and the bare Redis GET they are bounded by. */
export interface CacheSection {
  /** Turns whose three agent answers all came from Redis. */
  readonly hits: RunRecord[];
  /** The same mesh with unique messages (three misses, three SETs per turn). */
  readonly misses: RunRecord[];
  /** GET of a cached-answer-sized value through ioredis. */
  readonly redisGet: RunRecord[];
}

const LEVELS = [1, 16];

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** Measures Chorus cache hits through a real redis-server, and ioredis GETs as the limit. */
export async function cacheSection(options: BenchOptions, bundle: string): Promise<CacheSection> {
  const section: CacheSection = { hits: [], misses: [], redisGet: [] };
  const redis = await startRedisServer();
  let sim: Awaited<ReturnType<typeof startSimulatorProcess>> | undefined;
  try {
    sim = await startSimulatorProcess(bundle, "zero");
    const simPid = sim.child.pid;
    const simProcess = () => [{ pid: simPid, service: "llm-sim" }];
    const mesh = await startMesh({
      bundle,
      llmBaseUrl: sim.url,
      profile: "zero",
      pool: fixedPool(16, 1),
      redisUrl: redis.url,
    });
    try {
      const processes = () => [...mesh.processes(), ...simProcess()];
      const hitTarget = { kind: "chat" as const, address: mesh.address, tag: "cache-hit", repeat: true };
      const warm = await openTarget(hitTarget);
      await warm.call(0);
      await warm.close();
      for (const concurrency of LEVELS) {
        const spec = {
          mode: "closed" as const,
          concurrency,
          ...options.timing.zero,
          maxCalls: options.maxCalls,
        };
        const hit = await measure("chorus-cache-hit", "zero", spec, hitTarget, processes);
        section.hits.push(hit.run);
        log(`cache hit c=${concurrency} ${hit.run.perSecond} turns/s p50 ${hit.run.latency.p50} ms`);
        const missTarget = {
          kind: "chat" as const,
          address: mesh.address,
          tag: `cache-miss-c${concurrency}`,
        };
        const miss = await measure("chorus-redis-miss", "zero", spec, missTarget, processes);
        section.misses.push(miss.run);
      }
    } finally {
      await mesh.stop();
    }
    const key = "chorus-bench:answer";
    const client = new Redis(redis.url);
    await client.set(key, JSON.stringify({ text: "x".repeat(480), promptTokens: 40, completionTokens: 64 }));
    client.disconnect();
    for (const concurrency of LEVELS) {
      const spec = {
        mode: "closed" as const,
        concurrency,
        ...options.timing.zero,
        maxCalls: options.maxCalls * 5,
      };
      const { run } = await measure(
        "redis-get",
        "zero",
        spec,
        { kind: "redis-get", url: redis.url, key },
        () => [],
      );
      section.redisGet.push(run);
      log(`redis GET c=${concurrency} ${run.perSecond}/s p50 ${run.latency.p50} ms`);
    }
  } finally {
    await sim?.stop();
    await redis.stop();
  }
  return section;
}
