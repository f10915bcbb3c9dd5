import { type JsonValue, toJson } from "@bufbuild/protobuf";
import {
  type ChatResponse,
  ChatResponseSchema,
  type GetStatsResponse,
  GetStatsResponseSchema,
  type GetStatusResponse,
  GetStatusResponseSchema,
  type PoolStatus,
  type ScalingEvent,
  ScalingEventSchema,
  type ServiceUsage,
} from "@chorus/proto";

const ms = (value: number) => `${value.toFixed(1)} ms`;

/** JSON text of a response, as grpcurl would print it. */
export function asJson(value: JsonValue): string {
  return JSON.stringify(value, null, 2);
}

/** A ChatResponse as JSON, with the turn's trace id (x-chorus-trace-id) when the orchestrator traced it. */
export function chatJson(response: ChatResponse, traceId?: string): string {
  const json = toJson(ChatResponseSchema, response) as { [key: string]: JsonValue };
  return asJson(traceId ? { ...json, traceId } : json);
}

/** GetStats as JSON. */
export function statsJson(stats: GetStatsResponse): string {
  return asJson(toJson(GetStatsResponseSchema, stats));
}

/** GetStatus as JSON. */
export function statusJson(status: GetStatusResponse): string {
  return asJson(toJson(GetStatusResponseSchema, status));
}

/** One service process's CPU and memory on one line, or why they are unknown. */
export function formatUsage(u: ServiceUsage): string {
  const name = `  ${u.service.padEnd(12)} ${u.instance.padEnd(32)}`;
  if (!u.usage) return `${name} unknown: ${u.error}`;
  const { cpuSeconds, uptimeSeconds, rssBytes, pid } = u.usage;
  const share = uptimeSeconds > 0 ? (cpuSeconds / uptimeSeconds) * 100 : 0;
  return (
    `${name} pid ${String(pid).padEnd(7)} cpu ${cpuSeconds.toFixed(1).padStart(7)} s ` +
    `(${share.toFixed(1)}% of ${uptimeSeconds.toFixed(0)} s)  rss ${(Number(rssBytes) / 2 ** 20).toFixed(1)} MiB`
  );
}

/** Human-readable statistics. */
export function formatStats(s: GetStatsResponse): string {
  const lines = [
    `requests: ${s.totalRequests} total, ${s.successfulRequests} ok, ${s.failedRequests} failed`,
    `latency: avg ${ms(s.avgResponseTimeMs)}, min ${ms(s.minResponseTimeMs)}, max ${ms(s.maxResponseTimeMs)}`,
    `         p50 ${ms(s.p50ResponseTimeMs)}, p95 ${ms(s.p95ResponseTimeMs)}, p99 ${ms(s.p99ResponseTimeMs)}`,
    `throughput: ${s.throughputPerSecond.toFixed(2)} turns/s (wall clock)`,
    `cache: ${s.cacheHits} hits, ${s.cacheMisses} misses`,
    "agents:",
  ];
  for (const a of s.agents) {
    lines.push(
      `  ${a.agent.padEnd(12)} ${String(a.requests).padStart(6)} req ${String(a.errors).padStart(4)} err ` +
        `${(a.successRate * 100).toFixed(1).padStart(5)}% ok  avg ${ms(a.avgLatencyMs)}  ${a.tokens} tokens ` +
        `(${a.avgTokensPerCall.toFixed(1)}/call)  util ${(a.utilization * 100).toFixed(0)}%`,
    );
  }
  if (s.services.length > 0) lines.push("processes (cpu since start, share of uptime; resident memory):");
  for (const u of s.services) lines.push(formatUsage(u));
  return lines.join("\n");
}

/** A pool's blocks by state, e.g. "3 blocks (RUNNING 2, PENDING 1)". */
export function formatBlocks(p: PoolStatus): string {
  const states = Object.entries(p.blocksByState)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([state, count]) => `${state} ${count}`);
  return `${p.replicas.length} blocks${states.length > 0 ? ` (${states.join(", ")})` : ""}`;
}

/** A pool's scaling settings on one line. */
export function formatScaling(p: PoolStatus): string {
  const s = p.scaling;
  if (!s) return "scaling: unknown";
  return (
    `scaling: ${s.strategy}, blocks ${s.minBlocks}..${s.maxBlocks} (init ${s.initBlocks}), ` +
    `${s.workersPerBlock} workers/block, parallelism ${s.parallelism}, ` +
    `max_idletime ${s.maxIdletime}s, strategy_period ${s.strategyPeriod}s`
  );
}

/** Human-readable component health and pool replicas. */
export function formatStatus(s: GetStatusResponse): string {
  const lines = [`workflow: ${s.workflow} (${s.initialized ? "initialized" : "starting"}, ${s.version})`];
  for (const c of s.components)
    lines.push(`  ${c.healthy ? "ok  " : "FAIL"} ${c.name.padEnd(18)} ${c.detail}`);
  for (const p of s.pools) {
    lines.push(
      `pool ${p.agent} (${p.model}): ${formatBlocks(p)}, ${p.slots} slots, ${p.inFlight} running, ${p.queued} queued${p.remoteTasks > 0 ? `, ${p.remoteTasks} via other orchestrators` : ""}`,
    );
    lines.push(`  ${formatScaling(p)}`);
    for (const r of p.replicas) {
      lines.push(`  ${r.state.padEnd(9)} ${r.address.padEnd(22)} ${r.inFlight}/${r.workers} busy  ${r.id}`);
    }
  }
  return lines.join("\n");
}

/** A scaling event as one JSON line. */
export function scalingEventJson(event: ScalingEvent): string {
  return JSON.stringify(toJson(ScalingEventSchema, event, { alwaysEmitImplicit: true }));
}

/** A scaling event as one human-readable line. */
export function formatScalingEvent(e: ScalingEvent): string {
  const time = new Date(Number(e.timestampMs)).toISOString().slice(11, 23);
  const change = `${e.blocksBefore} -> ${e.blocksAfter} blocks`;
  return `${time}  ${e.pool.padEnd(12)} ${e.reason.padEnd(14)} ${change.padEnd(16)} tasks ${e.tasks}, slots ${e.slots}  (${e.strategy}: ${e.detail})`;
}

/** Human-readable answer with which agents answered. */
export function formatAnswer(r: ChatResponse): string {
  const agents = r.agentAnswers
    .map((a) => `${a.agent} ${a.ok ? "ok" : "failed"} ${a.cached ? "(cached)" : ms(a.latencyMs)}`)
    .join(", ");
  return `${r.answer}\n\n— ${agents}; turn ${r.turnId}${r.replayed ? " (replayed)" : ""}`;
}
