import type { RunRecord } from "./measure.js";
import type { PlotFile } from "./plots.js";
import { chaosReport } from "./report-chaos.js";
import {
  cpuPerTurnTable,
  historyBackendsReport,
  stragglerReport,
  streamReport,
  tracingReport,
} from "./report-sections.js";
import { securityReport } from "./report-security.js";
import type { BenchResults } from "./results.js";
import type { ProfileSection } from "./section-profiles.js";

function n(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function at(runs: readonly RunRecord[], concurrency: number): RunRecord | undefined {
  return runs.find((run) => run.concurrency === concurrency);
}

function profileTable(section: ProfileSection): string {
  const zero = section.profile === "zero";
  const header = [
    "c",
    "Chorus turns/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "over slowest agent p50",
    "Parsl turns/s",
    "Parsl p50",
    "Parsl p99",
    "Chorus ÷ Parsl",
    zero ? "echo calls/s" : "direct p50 (no orchestrator)",
    zero ? "echo p50 ms" : "Chorus ÷ direct p50",
    ...(zero ? ["direct turns/s", "direct p50 ms", "Chorus ÷ direct turns/s", "Chorus ÷ direct p50"] : []),
  ];
  const rows = section.chorus.map((run) => {
    const parsl = at(section.parsl, run.concurrency);
    const echo = at(section.echo, run.concurrency);
    const direct = at(section.direct, run.concurrency);
    const base = [
      String(run.concurrency),
      n(run.perSecond),
      n(run.latency.p50, 2),
      n(run.latency.p95, 2),
      n(run.latency.p99, 2),
      n(run.addedOverSlowestAgent?.p50, 2),
      n(parsl?.perSecond),
      n(parsl?.latency.p50, 1),
      n(parsl?.latency.p99, 1),
      parsl ? `${n(run.perSecond / parsl.perSecond, 1)}×` : "–",
    ];
    if (zero) {
      return [
        ...base,
        n(echo?.perSecond, 0),
        n(echo?.latency.p50, 2),
        n(direct?.perSecond, 0),
        n(direct?.latency.p50, 2),
        n(direct ? run.perSecond / direct.perSecond : Number.NaN, 2),
        `${n(direct ? run.latency.p50 / direct.latency.p50 : Number.NaN, 2)}×`,
      ];
    }
    return [
      ...base,
      n(direct?.latency.p50, 0),
      `${n(direct ? run.latency.p50 / direct.latency.p50 : Number.NaN, 3)}×`,
    ];
  });
  const failed = section.chorus.reduce((sum, run) => sum + run.failed, 0);
  const parslFailed = section.parsl.reduce((sum, run) => sum + run.failed, 0);
  const notes = [
    `Failed turns: Chorus ${failed}, Parsl ${parslFailed}.`,
    section.parslStartupS !== undefined
      ? `Parsl: ${section.parslWorkers} HTEX workers, ready after ${n(section.parslStartupS, 1)} s.`
      : "",
    section.parslError ? `Parsl failed: ${section.parslError.split("\n")[0]}` : "",
  ].filter(Boolean);
  return `### Profile \`${section.profile}\`\n\n${table(header, rows)}\n\n${notes.join(" ")}\n`;
}

function usageTable(title: string, run: RunRecord | undefined): string {
  if (!run?.usage) return "";
  const rows = run.usage.services.map((s) => [
    s.service,
    String(s.processes),
    n(s.cpuCores, 2),
    n(run.perSecond > 0 ? (1000 * s.cpuCores) / run.perSecond : Number.NaN, 2),
    n(s.rssMb, 0),
    n(s.maxRssMb, 0),
  ]);
  const header = ["service", "processes", "CPU (cores)", "CPU ms per turn", "RSS MB (each)", "max RSS MB"];
  return `#### ${title} (${n(run.perSecond)} turns/s, machine ${n(run.usage.machineBusyCores, 2)} cores busy)\n\n${table(header, rows)}\n`;
}

function cacheTable(results: BenchResults): string {
  const cache = results.cache;
  if (!cache) return "";
  const rows = [
    ...cache.hits.map((r) => ["Chorus turn, 3 cache hits (Redis)", r]),
    ...cache.misses.map((r) => ["Chorus turn, 3 misses + 3 SETs (Redis)", r]),
    ...cache.redisGet.map((r) => ["ioredis GET (the limit)", r]),
  ].map(([label, run]) => {
    const r = run as RunRecord;
    return [
      label as string,
      String(r.concurrency),
      n(r.perSecond, 0),
      n(r.latency.p50, 3),
      n(r.latency.p99, 3),
    ];
  });
  return `### Cache hits through Redis\n\n${table(["measure", "c", "per s", "p50 ms", "p99 ms"], rows)}\n`;
}

function scalingTable(results: BenchResults): string {
  const scaling = results.scaling;
  if (!scaling) return "";
  const rows = scaling.points.map((p) => [
    String(p.replicas),
    String(p.concurrency),
    n(p.run.perSecond),
    n(p.idealPerSecond),
    n(p.efficiency, 2),
    n(p.run.latency.p50, 0),
    n(p.run.latency.p99, 0),
    n(p.machineBusyCores, 2),
    n(p.chorusCores, 2),
    n(p.scaleSeconds, 1),
  ]);
  const header = [
    "replicas/pool",
    "turns in flight",
    "turns/s",
    "ideal turns/s",
    "efficiency",
    "p50 ms",
    "p99 ms",
    "machine CPU (cores)",
    "Chorus CPU (cores)",
    "scale-up s",
  ];
  return `### Replicas (\`fast\`, ${scaling.workersPerReplica} workers per replica)\n\n${table(header, rows)}\n`;
}

function autoscaleTable(results: BenchResults): string {
  if (results.autoscale.length === 0) return "";
  const ms = (value: number | null) => (value === null ? "never" : `${(value / 1000).toFixed(2)} s`);
  const rows = results.autoscale.map((r) => [
    r.system,
    String(r.concurrency),
    ms(r.firstDecisionMs),
    ms(r.firstNewBlockServingMs),
    ms(r.allBlocksServingMs),
    ms(r.p99RecoveredMs),
    String(r.turns),
    String(r.failed),
    n(r.p50Ms, 0),
    n(r.p99Ms, 0),
  ]);
  const threshold = results.autoscale[0]?.p99ThresholdMs ?? 0;
  const header = [
    "strategy",
    "turns in flight",
    "first scale-out decision",
    "first new block serving",
    "all blocks serving",
    `p99 ≤ ${threshold} ms from`,
    "turns",
    "failed",
    "p50 ms",
    "p99 ms",
  ];
  return `### Load step from idle (\`fast\`)\n\n${table(header, rows)}\n`;
}

function soakTable(results: BenchResults): string {
  const soak = results.soak;
  if (!soak) return "";
  const rows = soak.series.map((s) => [
    s.service,
    n(s.idleBeforeMb, 0),
    s.warmMb === undefined ? "" : n(s.warmMb, 0),
    n(s.earlyMb, 0),
    n(s.endMb, 0),
    n(s.idleAfterMb, 0),
    n(s.slopeMbPerMin, 2),
  ]);
  const header = [
    "service",
    "idle RSS MB",
    "after warm-up MB",
    "RSS after 1/4 MB",
    "RSS at end MB",
    "idle again MB",
    "slope MB/min",
  ];
  const run = soak.run;
  const warmup = soak.warmupS ? ` after ${soak.warmupS} s unrecorded at the same rate` : "";
  return `### Soak (\`zero\`, ${soak.rate} turns/s open loop for ${soak.durationS} s${warmup}: ${run.latency.n} turns, ${run.failed} failed, p50 ${n(run.latency.p50, 1)} ms, p99 ${n(run.latency.p99, 1)} ms)\n\n${table(header, rows)}\n`;
}

function plotLines(plots: readonly PlotFile[]): string[] {
  return plots.flatMap(({ file, missing }) => [
    `![${file}](${file})`,
    ...(missing.length ? ["", `_${file}: no data in this run for ${missing.join(", ")}._`, ""] : []),
  ]);
}

/** The markdown report of the run stored in `runFile` (beside it): targets, every table, the plots. */
export function markdownReport(results: BenchResults, runFile: string, plots: readonly PlotFile[]): string {
  const m = results.machine;
  const loads = m.load.map(([, l]) => l);
  const targetRows = results.targets.map((t) => [
    t.target,
    t.measured,
    t.met === null ? "–" : t.met ? "met" : "**missed**",
  ]);
  const highest = (runs: readonly RunRecord[]) =>
    runs.reduce<RunRecord | undefined>((a, b) => (!a || b.concurrency > a.concurrency ? b : a), undefined);
  const usage = results.profiles.flatMap((p) => [
    usageTable(`Chorus, \`${p.profile}\`, c=${highest(p.chorus)?.concurrency}`, highest(p.chorus)),
    usageTable(`Parsl, \`${p.profile}\`, c=${highest(p.parsl)?.concurrency}`, highest(p.parsl)),
  ]);
  return [
    `# Chorus benchmark${results.smoke ? " (smoke: tiny runs, no conclusions)" : ""}`,
    "",
    `${results.startedAt}, ${n(results.durationS, 0)} s, commit ${results.git.commit.slice(0, 12)}${results.git.dirtyFiles ? ` + ${results.git.dirtyFiles} changed files` : ""}. ` +
      `${m.cpus} × ${m.cpuModel}, ${n(m.memoryGb, 0)} GB, Node ${m.node}.`,
    "",
    results.sections
      ? `Every number below comes from [\`${runFile}\`](${runFile}), a run of \`--sections ${results.sections.join(",")}\` only; \`latest\` names the last whole run.`
      : `Every number below comes from [\`${runFile}\`](${runFile}), the run \`latest\` names.`,
    "",
    `Load: before \`${m.uptimeBefore}\`; after \`${m.uptimeAfter}\`; 1-min load average during the run ${n(Math.min(...loads), 2)}–${n(Math.max(...loads), 2)} (the bench's own processes count: Parsl alone runs up to 48 workers).`,
    "",
    results.callsPerTurn
      ? `In this run a turn was ${results.callsPerTurn.total} unary gRPC calls (Chat, 3 × Generate, AppendTurn).`
      : "A turn is one `Chat` call from the client; the orchestrator makes its history calls before the fan-out, sends the three agent tasks as messages on long-lived task channels (one stream per agent replica), and stores the turn with a history call before it answers. `direct` is the same three generations sent by one process straight to the simulator, no mesh: the ceiling of this machine. `echo` is one bare unary grpc-js round trip.",
    "",
    "## Targets",
    "",
    table(["target", "measured", ""], targetRows),
    "",
    "## Results",
    "",
    ...results.profiles.map(profileTable),
    cacheTable(results),
    securityReport(results.security),
    stragglerReport(results),
    historyBackendsReport(results),
    tracingReport(results),
    streamReport(results),
    scalingTable(results),
    autoscaleTable(results),
    soakTable(results),
    chaosReport(results.chaos),
    ...(usage.some(Boolean) ? ["### CPU and memory per service", "", ...usage.filter(Boolean)] : []),
    ...results.profiles.map(cpuPerTurnTable).filter(Boolean),
    results.errors.length ? `## Errors\n\n${results.errors.map((e) => `- ${e}`).join("\n")}\n` : "",
    ...(plots.length ? ["## Plots", "", ...plotLines(plots), ""] : []),
    "Reproduce: `npm run bench` (about 38 minutes; `npm run bench:smoke` for a seconds-long smoke).",
    "",
  ].join("\n");
}
