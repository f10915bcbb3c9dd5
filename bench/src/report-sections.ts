import { compare, type VariantPoint } from "./ab-rounds.js";
import type { RunRecord } from "./measure.js";
import type { BenchResults } from "./results.js";
import type { ProfileSection } from "./section-profiles.js";
import { cpuUsPerToken, type StreamRun } from "./section-stream.js";
import { cpuMsPerTurn } from "./security-cost.js";

function n(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function percent(value: number): string {
  return `${n(100 * value, 1)}%`;
}

/** The processes a CPU table lists, in this order; the simulator and the client close it. */
function serviceOrder(runs: readonly RunRecord[]): string[] {
  const seen = new Set(runs.flatMap((r) => r.usage?.services.map((s) => s.service) ?? []));
  const rank = (s: string) =>
    s === "orchestrator"
      ? 0
      : s.startsWith("agent:")
        ? 1
        : s === "history"
          ? 2
          : s === "postgres"
            ? 3
            : s === "up"
              ? 4
              : s === "llm-sim"
                ? 5
                : s === "otelcol"
                  ? 6
                  : 7;
  return [...seen].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** CPU ms per turn of every process at each level, Chorus beside direct (three generations, no mesh). */
export function cpuPerTurnTable(section: ProfileSection): string {
  const chorus = section.chorus.filter((r) => r.usage);
  const direct = section.direct.filter((r) => r.usage);
  if (chorus.length === 0) return "";
  const services = serviceOrder([...chorus, ...direct]);
  const cell = (run: RunRecord, service?: string) =>
    run.usage?.services.some((s) => service === undefined || s.service === service)
      ? n(cpuMsPerTurn(run, service), 3)
      : "";
  const rows = [
    ...services.map((service) => [
      service,
      ...chorus.map((r) => cell(r, service)),
      ...direct.map((r) => cell(r, service)),
    ]),
    ["**every process**", ...chorus.map((r) => `**${cell(r)}**`), ...direct.map((r) => `**${cell(r)}**`)],
    [
      "Chorus ÷ direct",
      ...chorus.map((r) => {
        const d = direct.find((x) => x.concurrency === r.concurrency);
        return d ? `${n(cpuMsPerTurn(r) / cpuMsPerTurn(d), 2)}×` : "";
      }),
      ...direct.map(() => ""),
    ],
  ];
  const header = [
    "process",
    ...chorus.map((r) => `Chorus c=${r.concurrency}`),
    ...direct.map((r) => `direct c=${r.concurrency}`),
  ];
  return `#### CPU ms per turn, \`${section.profile}\` (load-generator: the client; in direct it makes the three generations itself)\n\n${table(header, rows)}\n`;
}

function streamRow(label: string, run: StreamRun, services: readonly string[]): string[] {
  return [
    label,
    n(run.tokens / Math.max(1, run.messages), 2),
    ...services.map((s) =>
      run.usage.services.some((u) => u.service === s) ? n(cpuUsPerToken(run, s), 1) : "",
    ),
    `**${n(cpuUsPerToken(run), 1)}**`,
  ];
}

/** CPU µs per token relayed by ChatStream, per process, beside the same answers streamed directly. */
export function streamReport(results: BenchResults): string {
  const stream = results.stream;
  if (!stream?.points.length) return "";
  const tables = stream.points.map((p) => {
    const services = serviceOrder([p.chorus, p.direct].map((r) => ({ usage: r.usage }) as RunRecord));
    const header = [
      `c=${p.concurrency}`,
      "tokens per message",
      ...services.map((s) => `${s} µs`),
      "every process µs",
    ];
    const rows = [streamRow("ChatStream", p.chorus, services), streamRow("direct", p.direct, services)];
    const ratio = cpuUsPerToken(p.chorus) / cpuUsPerToken(p.direct);
    return `#### \`${p.profile}\`: ${p.chorus.tokens} tokens relayed in ${p.chorus.turns} turns; every process ${n(ratio, 2)}× direct's\n\n${table(header, rows)}\n`;
  });
  return `### CPU per token relayed by ChatStream (${stream.windowS} s per window)\n\nDirect: this process streams the three answers straight from the simulator (SSE) and reads every chunk.\n\n${tables.join("\n")}`;
}

/** The straggler scenario's three phases. */
export function stragglerReport(results: BenchResults): string {
  const s = results.straggler;
  if (!s) return "";
  const healthy = s.phases.find((p) => p.id === "healthy");
  const rows = s.phases.map((p) => [
    p.id,
    p.hedging ? "on" : "off",
    n(p.run.perSecond),
    n(p.run.latency.p50, 0),
    n(p.run.latency.p95, 0),
    n(p.run.latency.p99, 0),
    healthy ? `${n(p.run.latency.p99 / healthy.run.latency.p99, 2)}×` : "",
    String(p.hedges.sent),
    String(p.hedges.won),
    String(p.slowModel.requests),
    String(p.slowModel.aborted),
    String(p.run.failed),
  ]);
  const header = [
    "phase",
    "hedging",
    "turns/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "p99 ÷ healthy",
    "hedges sent",
    "hedges won",
    "straggler's requests",
    "straggler copies cancelled",
    "failed",
  ];
  return (
    `### Straggler: one \`${s.pool}\` replica ${s.slowFactor}× slower (c=${s.concurrency}, ${s.replicasPerPool} replicas per pool of ${s.workersPerReplica} workers)\n\n` +
    `Model: \`fast\`'s shape at ${n(s.generationMs, 0)} ms per answer (TTFT ${s.profile.ttft_ms} ± ${s.profile.ttft_std_ms} ms, ${s.profile.tokens} tokens ${s.profile.itl_ms} ± ${s.profile.itl_std_ms} ms apart); ` +
    `the straggler's agent process reaches a second simulator with every latency ${s.slowFactor}× (a proxy routes by the connecting process). ` +
    `Each phase ${s.warmupS} s unrecorded, then ${s.windowS} s measured. Hedges from GetStats; cancelled copies are the slow simulator's requests whose client went away.\n\n${table(header, rows)}\n`
  );
}

function abTable(
  points: readonly VariantPoint[],
  base: string,
  label: (id: string) => string,
  cpuServices: readonly string[],
): string {
  const ordered = [...points].sort((a, b) => a.concurrency - b.concurrency);
  const rows = ordered.map((p) => {
    const c = p.variant === base ? undefined : compare(points, p.variant, base, p.concurrency);
    return [
      label(p.variant),
      String(p.concurrency),
      n(p.pooled.perSecond),
      n(p.pooled.latency.p50, 2),
      n(p.pooled.latency.p99, 2),
      c ? n(c.ratio, 3) : "1",
      c ? `${percent(1 - c.ratio)} (${percent(1 - c.interval[1])} to ${percent(1 - c.interval[0])})` : "",
      ...cpuServices.map((s) =>
        p.pooled.usage?.services.some((u) => u.service.startsWith(s)) ? n(serviceCpu(p.pooled, s), 3) : "",
      ),
      n(cpuMsPerTurn(p.pooled), 3),
      String(p.pooled.failed),
    ];
  });
  const header = [
    "setup",
    "c",
    "turns/s",
    "p50 ms",
    "p99 ms",
    `turns/s ÷ ${base}`,
    "cost (95% interval)",
    ...cpuServices.map((s) => `${s.replace(/:$/, "s")} CPU ms/turn`),
    "every process CPU ms/turn",
    "failed",
  ];
  return table(header, rows);
}

function serviceCpu(run: RunRecord, prefix: string): number {
  const services = run.usage?.services.filter((s) => s.service.startsWith(prefix)) ?? [];
  return services.reduce((sum, s) => sum + cpuMsPerTurn(run, s.service), 0);
}

/** SQLite against PostgreSQL history. */
export function historyBackendsReport(results: BenchResults): string {
  const h = results.historyBackends;
  if (!h) return "";
  const label = (id: string) => (id === "sqlite" ? "SQLite (embedded file)" : "PostgreSQL (local server)");
  return (
    `### History on SQLite against PostgreSQL (\`zero\`, ${h.rounds} rounds of ${h.warmupS} + ${h.windowS} s windows per level, order rotated)\n\n` +
    `One history replica each, as \`chorus up\` runs it; PostgreSQL is the test helper's server (loopback, fsync off), its processes counted as \`postgres\`.\n\n` +
    `${abTable(h.points, "sqlite", label, ["orchestrator", "history", "postgres", "agent:"])}\n`
  );
}

/** Tracing on against off. */
export function tracingReport(results: BenchResults): string {
  const t = results.tracing;
  if (!t) return "";
  const title = `### Tracing on against off (\`zero\`, every span exported over OTLP/gRPC to an OpenTelemetry Collector)`;
  if (t.skipped) return `${title}\n\n_Skipped: ${t.skipped}._\n`;
  const perTurn = t.tracedTurns > 0 ? t.spans / t.tracedTurns : Number.NaN;
  const active =
    t.spans > 0
      ? `The collector received ${t.spans} spans for about ${t.tracedTurns} traced turns (${n(perTurn, 1)} per turn, warm-up windows included).`
      : "**The collector received no spans: this build does not trace, and the rows compare two untraced meshes.**";
  return (
    `${title}\n\n${t.rounds} rounds of ${t.warmupS} + ${t.windowS} s windows per level, order rotated; ` +
    `\`on\`: OTEL_EXPORTER_OTLP_ENDPOINT (the collector), OTEL_EXPORTER_OTLP_PROTOCOL=grpc, OTEL_TRACES_SAMPLER=always_on in every process; the collector's CPU is \`otelcol\`. ${active}\n\n` +
    `${abTable(t.points, "off", (id) => `tracing ${id}`, ["orchestrator", "agent:", "history", "otelcol"])}\n`
  );
}
