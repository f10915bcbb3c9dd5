import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunRecord } from "./measure.js";
import { lineChart, PALETTE, type Series } from "./plot/chart.js";
import type { BenchResults } from "./results.js";

const BLUE = PALETTE.blue ?? [0, 0, 255];
const ORANGE = PALETTE.orange ?? [255, 128, 0];
const GREEN = PALETTE.green ?? [0, 160, 0];
const RED = PALETTE.red ?? [200, 0, 0];
const GREY = PALETTE.grey ?? [128, 128, 128];
const PURPLE = PALETTE.purple ?? [128, 0, 128];

function highestCommon(a: readonly RunRecord[], b: readonly RunRecord[]): number | undefined {
  const levels = a
    .map((r) => r.concurrency)
    .filter((c) => b.length === 0 || b.some((r) => r.concurrency === c));
  return levels.length ? Math.max(...levels) : undefined;
}

function cdfSeries(
  name: string,
  run: RunRecord | undefined,
  color: Series["color"],
  dashed = false,
): Series[] {
  return run && run.cdf.length > 0 ? [{ name, color, dashed, points: run.cdf.filter(([x]) => x > 0) }] : [];
}

function latencyCdf(results: BenchResults, profile: string): Buffer | undefined {
  const section = results.profiles.find((p) => p.profile === profile);
  if (!section) return undefined;
  const c = highestCommon(section.chorus, section.parsl);
  if (c === undefined) return undefined;
  const pick = (runs: readonly RunRecord[]) => runs.find((r) => r.concurrency === c);
  const series = [
    ...cdfSeries("Chorus", pick(section.chorus), BLUE),
    ...cdfSeries("Parsl HTEX", pick(section.parsl), ORANGE),
    ...(profile === "zero"
      ? cdfSeries("bare gRPC echo", pick(section.echo), GREY, true)
      : cdfSeries("3 direct generations", pick(section.direct), GREY, true)),
  ];
  return lineChart({
    title: `Turn latency CDF, ${profile} profile, ${c} turns in flight`,
    xLabel: profile === "zero" ? "latency (ms, log scale)" : "latency (ms)",
    yLabel: "fraction of turns",
    xLog: profile === "zero",
    yMin: 0,
    yMax: 1,
    series,
  });
}

function replicasPlot(results: BenchResults): Buffer | undefined {
  const points = results.scaling?.points ?? [];
  const first = points[0];
  if (!first) return undefined;
  const perReplica = first.run.perSecond / first.replicas;
  return lineChart({
    title: "Turns/s against replicas per pool (fast profile)",
    xLabel: "replicas per pool",
    yLabel: "turns per second",
    yMin: 0,
    legend: "top-left",
    series: [
      {
        name: "Chorus, measured",
        color: BLUE,
        markers: true,
        points: points.map((p) => [p.replicas, p.run.perSecond]),
      },
      {
        name: "linear from 1 replica",
        color: GREY,
        dashed: true,
        points: points.map((p) => [p.replicas, perReplica * p.replicas]),
      },
      {
        name: "machine CPU busy x 100 (cores)",
        color: RED,
        markers: true,
        dashed: true,
        points: points.map((p) => [p.replicas, p.machineBusyCores * 100]),
      },
    ],
  });
}

function blocksPlot(results: BenchResults): Buffer | undefined {
  if (results.autoscale.length === 0) return undefined;
  const colors: Record<string, Series["color"]> = {
    "chorus:chorus": GREEN,
    "chorus:simple": PURPLE,
    "parsl:simple": RED,
  };
  const series: Series[] = results.autoscale.flatMap((r) => [
    {
      name: `${r.system}${r.system.startsWith("parsl") ? " (block = 3 pools)" : ""} serving`,
      color: colors[r.system] ?? BLUE,
      step: true,
      points: r.blocks.map(([ms, serving]): [number, number] => [ms / 1000, serving]),
    },
    {
      name: `${r.system} requested`,
      color: colors[r.system] ?? BLUE,
      step: true,
      dashed: true,
      points: r.blocks.map(([ms, , requested]): [number, number] => [ms / 1000, requested]),
    },
  ]);
  return lineChart({
    title: "Blocks per pool during a load step from idle (fast)",
    xLabel: "seconds since the load step",
    yLabel: "blocks per pool",
    yMin: 0,
    legend: "bottom-right",
    series,
    markers: [{ x: 0, label: "load step" }],
  });
}

/** Draws every plot the results allow into `dir`; returns the file names written. */
export function writePlots(results: BenchResults, dir: string): string[] {
  const plots: Array<[string, Buffer | undefined]> = [
    ["latency-cdf-zero.png", latencyCdf(results, "zero")],
    ["latency-cdf-fast.png", latencyCdf(results, "fast")],
    ["replicas.png", replicasPlot(results)],
    ["blocks.png", blocksPlot(results)],
  ];
  const written: string[] = [];
  for (const [name, png] of plots) {
    if (!png) continue;
    writeFileSync(join(dir, name), png);
    written.push(name);
  }
  return written;
}
