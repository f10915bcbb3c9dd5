import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { GetStatsResponseSchema } from "@chorus/proto";
import { formatStats, statsJson } from "./format.js";

const stats = create(GetStatsResponseSchema, {
  totalRequests: 12n,
  successfulRequests: 11n,
  failedRequests: 1n,
  avgResponseTimeMs: 210.25,
  minResponseTimeMs: 120,
  maxResponseTimeMs: 480,
  p50ResponseTimeMs: 200,
  p95ResponseTimeMs: 450,
  p99ResponseTimeMs: 480,
  throughputPerSecond: 3.5,
  cacheHits: 4n,
  cacheMisses: 8n,
  agents: [
    {
      agent: "creative",
      requests: 12n,
      errors: 1n,
      successRate: 11 / 12,
      avgLatencyMs: 190,
      tokens: 330n,
      llmCalls: 11n,
      avgTokensPerCall: 30,
      utilization: 0.42,
    },
  ],
  services: [
    {
      service: "orchestrator",
      instance: "host-a",
      usage: { cpuSeconds: 3.25, uptimeSeconds: 130, rssBytes: 90n * 2n ** 20n, pid: 4242 },
    },
    { service: "agent", instance: "creative/creative-7", error: "DEADLINE_EXCEEDED" },
  ],
});

describe("formatStats", () => {
  it("prints requests, latency, throughput, cache, each agent and each process's CPU and RSS", () => {
    assert.deepEqual(formatStats(stats).split("\n"), [
      "requests: 12 total, 11 ok, 1 failed",
      "latency: avg 210.3 ms, min 120.0 ms, max 480.0 ms",
      "         p50 200.0 ms, p95 450.0 ms, p99 480.0 ms",
      "throughput: 3.50 turns/s (wall clock)",
      "cache: 4 hits, 8 misses",
      "agents:",
      "  creative         12 req    1 err  91.7% ok  avg 190.0 ms  330 tokens (30.0/call)  util 42%",
      "processes (cpu since start, share of uptime; resident memory):",
      "  orchestrator host-a                           pid 4242    cpu     3.3 s (2.5% of 130 s)  rss 90.0 MiB",
      "  agent        creative/creative-7              unknown: DEADLINE_EXCEEDED",
    ]);
  });

  it("gives the processes in JSON as grpcurl would", () => {
    const json = JSON.parse(statsJson(stats));
    assert.deepEqual(json.services[0], {
      service: "orchestrator",
      instance: "host-a",
      usage: { cpuSeconds: 3.25, rssBytes: String(90 * 2 ** 20), uptimeSeconds: 130, pid: 4242 },
    });
  });
});
