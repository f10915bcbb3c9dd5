import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunRecord } from "./measure.js";
import { type ChartSpec, PALETTE, type Series } from "./plot/chart-spec.js";
import { lineChart } from "./plot/line-chart.js";
import type { BenchResults } from "./results.js";

/** A plot written beside the results, and the series it had no data for. */
export interface PlotFile {
  readonly file: string;
  readonly missing: string[];
}

function highestCommon(a: readonly RunRecord[], b: readonly RunRecord[]): number | undefined {
  const levels = a
    .map((r) => r.concurrency)
    .filter((c) => b.length === 0 || b.some((r) => r.concurrency === c));
  return levels.length ? Math.max(...levels) : undefined;
}

function cdfSeries(name: string, run: RunRecord | undefined, color: string, dashed = false): Series {
  return { name, color, dashed, points: run?.cdf ?? [] };
}

/** The latency CDF of `profile` at the highest concurrency Chorus and Parsl both ran. */
export function latencyCdf(results: BenchResults, profile: string): ChartSpec | undefined {
  const section = results.profiles.find((p) => p.profile === profile);
  if (!section) return undefined;
  const c = highestCommon(section.chorus, section.parsl);
  if (c === undefined) return undefined;
  const pick = (runs: readonly RunRecord[]) => runs.find((r) => r.concurrency === c);
  const zero = profile === "zero";
  return {
    title: `Turn latency CDF, ${profile} profile, ${c} turns in flight`,
    xLabel: zero ? "latency (ms, log scale)" : "latency (ms)",
    yLabel: "fraction of turns",
    xLog: zero,
    yMin: 0,
    yMax: 1,
    legend: "top-left",
    series: [
      cdfSeries("Chorus", pick(section.chorus), PALETTE.blue),
      cdfSeries("Parsl HTEX", pick(section.parsl), PALETTE.orange),
      zero
        ? cdfSeries("bare gRPC echo", pick(section.echo), PALETTE.grey, true)
        : cdfSeries("3 direct generations", pick(section.direct), PALETTE.grey, true),
    ],
  };
}

/** Turns/s against replicas per pool, with the linear line from one replica and the machine's CPU. */
export function replicasPlot(results: BenchResults): ChartSpec | undefined {
  const points = results.scaling?.points ?? [];
  const first = points[0];
  if (!first) return undefined;
  const perReplica = first.run.perSecond / first.replicas;
  return {
    title: "Turns/s against replicas per pool (fast profile)",
    xLabel: "replicas per pool",
    yLabel: "turns per second",
    yMin: 0,
    legend: "top-left",
    series: [
      {
        name: "Chorus, measured",
        color: PALETTE.blue,
        markers: true,
        points: points.map((p) => [p.replicas, p.run.perSecond]),
      },
      {
        name: "linear from 1 replica",
        color: PALETTE.grey,
        dashed: true,
        points: points.map((p) => [p.replicas, perReplica * p.replicas]),
      },
      {
        name: "machine CPU busy x 100 (cores)",
        color: PALETTE.red,
        markers: true,
        dashed: true,
        points: points.map((p) => [p.replicas, p.machineBusyCores * 100]),
      },
    ],
  };
}

/** Blocks serving and requested per pool around the load step, per strategy. */
export function blocksPlot(results: BenchResults): ChartSpec | undefined {
  if (results.autoscale.length === 0) return undefined;
  const colors: Record<string, string> = {
    "chorus:chorus": PALETTE.green,
    "chorus:simple": PALETTE.purple,
    "parsl:simple": PALETTE.red,
  };
  const series: Series[] = results.autoscale.flatMap((r) => [
    {
      name: `${r.system}${r.system.startsWith("parsl") ? " (block = 3 pools)" : ""} serving`,
      color: colors[r.system] ?? PALETTE.blue,
      step: true,
      points: r.blocks.map(([ms, serving]): [number, number] => [ms / 1000, serving]),
    },
    {
      name: `${r.system} requested`,
      color: colors[r.system] ?? PALETTE.blue,
      step: true,
      dashed: true,
      points: r.blocks.map(([ms, , requested]): [number, number] => [ms / 1000, requested]),
    },
  ]);
  return {
    title: "Blocks per pool during a load step from idle (fast)",
    xLabel: "seconds since the load step",
    yLabel: "blocks per pool",
    yMin: 0,
    legend: "bottom-right",
    series,
    markers: [{ x: 0, label: "load step" }],
  };
}

/** Draws every plot the results allow into `dir` as SVG; returns the files written. */
export async function writePlots(results: BenchResults, dir: string): Promise<PlotFile[]> {
  const plots: Array<[string, ChartSpec | undefined]> = [
    ["latency-cdf-zero.svg", latencyCdf(results, "zero")],
    ["latency-cdf-fast.svg", latencyCdf(results, "fast")],
    ["replicas.svg", replicasPlot(results)],
    ["blocks.svg", blocksPlot(results)],
  ];
  const written: PlotFile[] = [];
  for (const [file, spec] of plots) {
    if (!spec) continue;
    const chart = await lineChart(spec);
    writeFileSync(join(dir, file), chart.svg);
    written.push({ file, missing: chart.missing });
  }
  return written;
}
