import { SETUPS, type SecuritySection, type SecuritySetup } from "./section-security.js";
import { costAgainstPlaintext, cpuMsPerTurn, pointOf } from "./security-cost.js";
import { HOP_MODES, type HopMode } from "./security-hops.js";

function n(value: number | undefined, digits = 1): string {
  return value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
}

function pct(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? "–" : `${(100 * value).toFixed(1)}%`;
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** a, b, c: the setups' letters in the section's order. */
function letterOf(setup: SecuritySetup): string {
  return String.fromCharCode(97 + SETUPS.findIndex((s) => s.id === setup));
}

function labelOf(setup: SecuritySetup): string {
  return `(${letterOf(setup)}) ${SETUPS.find((s) => s.id === setup)?.label ?? setup}`;
}

function levelsOf(section: SecuritySection): number[] {
  return [...new Set(section.points.map((p) => p.concurrency))];
}

function throughputTable(section: SecuritySection): string {
  const rows = levelsOf(section).flatMap((c) =>
    SETUPS.map(({ id }) => {
      const point = pointOf(section, id, c);
      const cost = costAgainstPlaintext(section, id, c);
      const base = id === "plaintext";
      const ratios = cost?.roundRatios.filter(Number.isFinite) ?? [];
      return [
        labelOf(id),
        String(c),
        n(point?.pooled.perSecond),
        n(point?.pooled.latency.p50, 2),
        n(point?.pooled.latency.p99, 2),
        base ? "1" : n(cost?.ratio, 3),
        base || ratios.length === 0
          ? ""
          : `${n(cost?.medianRoundRatio, 3)} (${n(Math.min(...ratios), 2)}–${n(Math.max(...ratios), 2)})`,
        base ? "1" : n(cost?.p50Ratio, 3),
        n(point ? cpuMsPerTurn(point.pooled) : Number.NaN, 2),
        base ? "1" : n(cost?.cpuRatio, 3),
        base
          ? ""
          : `**${pct(cost?.cost)}** (${pct(1 - (cost?.ratioInterval[1] ?? Number.NaN))} to ${pct(1 - (cost?.ratioInterval[0] ?? Number.NaN))})`,
        String(point?.pooled.failed ?? "–"),
      ];
    }),
  );
  const header = [
    "setup",
    "c",
    "turns/s",
    "p50 ms",
    "p99 ms",
    "turns/s ÷ (a)",
    "round ratios: median (min–max)",
    "p50 ÷ (a)",
    "CPU ms/turn",
    "CPU ÷ (a)",
    "cost: 1 − turns/s ÷ (a) (95% interval)",
    "failed",
  ];
  return table(header, rows);
}

function cpuTable(section: SecuritySection): string {
  const columns = levelsOf(section).flatMap((c) =>
    SETUPS.map(({ id }) => ({ c, id, point: pointOf(section, id, c) })),
  );
  const services = [
    ...new Set(section.points.flatMap((p) => p.pooled.usage?.services.map((s) => s.service) ?? [])),
  ].sort();
  const rows = [...services, undefined].map((service) => [
    service ?? "**all watched processes**",
    ...columns.map(({ point }) => (point ? n(cpuMsPerTurn(point.pooled, service), 3) : "–")),
  ]);
  const header = ["CPU ms per turn", ...columns.map(({ c, id }) => `c=${c} (${letterOf(id)})`)];
  return table(header, rows);
}

/** CPU µs of one echo call (client + server) over `mode` at `concurrency`. */
function hopCpuUs(section: SecuritySection, mode: HopMode, concurrency: number): number {
  const hop = section.hops.find((h) => h.mode === mode && h.concurrency === concurrency);
  return hop ? 1000 * cpuMsPerTurn(hop.pooled) : Number.NaN;
}

function hopTable(section: SecuritySection): string {
  const rows = section.hops.map((hop) => {
    const cpu = hopCpuUs(section, hop.mode, hop.concurrency);
    const base = hopCpuUs(section, "plaintext", hop.concurrency);
    return [
      HOP_MODES.find((m) => m.id === hop.mode)?.label ?? hop.mode,
      String(hop.concurrency),
      n(hop.pooled.perSecond, 0),
      n(hop.pooled.latency.p50, 3),
      n(cpu, 1),
      hop.mode === "plaintext" ? "" : n(cpu - base, 1),
    ];
  });
  const header = [
    "one echo call over",
    "c",
    "calls/s",
    "p50 ms",
    "CPU µs per call",
    "more than plaintext µs",
  ];
  return table(header, rows);
}

/**
 * A turn's traffic inside the mesh: one unary call that passes the guard (AppendTurn) and three
 * tasks on the agents' long-lived TaskChannel streams, whose guard ran once when they opened.
 */
const MESH_GUARDED_CALLS = 1;
const MESH_TASK_MESSAGES = 3;

/** Measured CPU per turn against what the hops predict (a unary mTLS call bounds a stream's task). */
function accountingTable(section: SecuritySection): string {
  const rows = levelsOf(section).flatMap((c) => {
    const turnUs = (setup: SecuritySetup) => {
      const point = pointOf(section, setup, c);
      return point ? 1000 * cpuMsPerTurn(point.pooled) : Number.NaN;
    };
    const hop = (mode: HopMode) => hopCpuUs(section, mode, c) - hopCpuUs(section, "plaintext", c);
    const mesh = MESH_GUARDED_CALLS * hop("mtls-guard") + MESH_TASK_MESSAGES * hop("mtls");
    const plain = turnUs("plaintext");
    return [
      [
        `c=${c}: (b) − (a), mesh mTLS`,
        n(turnUs("mesh-mtls") - plain, 0),
        `${MESH_GUARDED_CALLS} × ${n(hop("mtls-guard"), 1)} + ${MESH_TASK_MESSAGES} × ${n(hop("mtls"), 1)} = ${n(mesh, 0)}`,
        n(plain, 0),
      ],
      [
        `c=${c}: (c) − (b), public TLS + API key`,
        n(turnUs("mtls-tls-key") - turnUs("mesh-mtls"), 0),
        `1 × ${n(hop("tls"), 1)} (TLS only; the key check is not in the echo)`,
        n(plain, 0),
      ],
    ];
  });
  const header = ["CPU µs per turn", "measured", "from the echo calls", "a plaintext turn"];
  return [
    table(header, rows),
    "",
    `A turn makes one public call (\`Chat\`), ${MESH_GUARDED_CALLS} guarded mesh call (\`AppendTurn\`) and sends its ${MESH_TASK_MESSAGES} tasks over the agents' long-lived \`TaskChannel\` streams (guarded once, when opened); a unary mTLS echo call bounds what a task's round trip on a stream pays.`,
  ].join("\n");
}

/** The security section's tables: throughput and latency against plaintext, then CPU per turn. */
export function securityReport(section: SecuritySection | undefined): string {
  if (!section) return "";
  const order = section.order.map((round) => round.map(letterOf).join(""));
  return [
    `### Security: TLS and API keys against plaintext (\`zero\`)`,
    "",
    `Three meshes on one simulator, each warmed up alike, each with one client connection for the whole section. Per level, ${section.rounds} round(s) of one window per mesh back to back (${n(section.warmupS, 1)} s unrecorded + ${n(section.windowS, 1)} s measured), in the orders ${order.join(" ")}. ` +
      "Turns/s, percentiles and CPU pool every round; the round ratios show the spread between rounds, and the cost's 95% interval resamples the rounds in pairs (bootstrap).",
    "",
    throughputTable(section),
    "",
    "CPU per turn of each process over the measured windows (`/proc`; the load generator is the client, its TLS included):",
    "",
    cpuTable(section),
    "",
    `What one gRPC call pays per transport (an echo server like the bench's, one long-lived client each; ${section.hopRounds} round(s) per level, the same windows; CPU of the server and the load generator):`,
    "",
    hopTable(section),
    "",
    "Where the turn's extra CPU goes, against what its hops predict:",
    "",
    accountingTable(section),
    "",
  ].join("\n");
}
