import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ChorusConfig } from "@chorus/config";
import type { GetStatsResponseSchema, ServiceUsageSchema } from "@chorus/proto";
import type { Recorder } from "../telemetry/recorder.js";

type StatsInit = MessageInitShape<typeof GetStatsResponseSchema>;

/** A pool's hedges: second copies sent, and those that answered first. */
interface HedgeSource {
  readonly hedges: { readonly sent: number; readonly won: number };
}

/**
 * GetStats from the recorder's counters (one entry per configured agent), the pools' hedges and
 * the processes' usage.
 */
export function statsReport(
  config: ChorusConfig,
  recorder: Recorder,
  services: MessageInitShape<typeof ServiceUsageSchema>[] = [],
  pools: ReadonlyMap<string, HedgeSource> = new Map(),
): StatsInit {
  const { stats } = recorder;
  const latency = stats.latency();
  return {
    totalRequests: BigInt(stats.total),
    successfulRequests: BigInt(stats.succeeded),
    failedRequests: BigInt(stats.failed),
    avgResponseTimeMs: latency.avg,
    minResponseTimeMs: latency.min,
    maxResponseTimeMs: latency.max,
    p50ResponseTimeMs: latency.p50,
    p95ResponseTimeMs: latency.p95,
    p99ResponseTimeMs: latency.p99,
    throughputPerSecond: stats.throughput(),
    cacheHits: BigInt(stats.cacheHits),
    cacheMisses: BigInt(stats.cacheMisses),
    uptimeSeconds: (Date.now() - stats.startedAt) / 1000,
    agents: config.agents.map((agent) => {
      const c = stats.agent(agent.name);
      const finished = c.succeeded + c.errors;
      const tokens = c.promptTokens + c.completionTokens;
      return {
        agent: agent.name,
        requests: BigInt(c.requests),
        errors: BigInt(c.errors),
        successRate: finished === 0 ? 1 : c.succeeded / finished,
        avgLatencyMs: c.timed === 0 ? 0 : c.latencyMsTotal / c.timed,
        tokens: BigInt(tokens),
        promptTokens: BigInt(c.promptTokens),
        completionTokens: BigInt(c.completionTokens),
        llmCalls: BigInt(c.llmCalls),
        avgTokensPerCall: c.llmCalls === 0 ? 0 : tokens / c.llmCalls,
        utilization: recorder.utilization(agent.name),
        cacheHits: BigInt(c.cacheHits),
        hedgedTasks: BigInt(pools.get(agent.name)?.hedges.sent ?? 0),
        hedgeWins: BigInt(pools.get(agent.name)?.hedges.won ?? 0),
      };
    }),
    services,
  };
}
