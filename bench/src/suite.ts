import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { basename, dirname, join } from "node:path";
import { pointLatest } from "./latest.js";
import { snapshotBundle } from "./mesh.js";
import { type BenchOptions, runs } from "./options.js";
import { type PlotFile, writePlots } from "./plots.js";
import { loadAverage } from "./proc.js";
import { requireRedisServer } from "./redis-check.js";
import { markdownReport } from "./report-md.js";
import type { BenchResults } from "./results.js";
import { autoscaleSection, type StepReaction } from "./section-autoscale.js";
import { type CacheSection, cacheSection } from "./section-cache.js";
import { type ChaosSection, chaosSection } from "./section-chaos.js";
import { type HistoryBackendsSection, historyBackendsSection } from "./section-history-backends.js";
import { type ProfileSection, profileSection } from "./section-profiles.js";
import { type ScalingSection, scalingSection } from "./section-scaling.js";
import { type SecuritySection, securitySection } from "./section-security.js";
import { type SoakSection, soakSection } from "./section-soak.js";
import { type StragglerSection, stragglerSection } from "./section-straggler.js";
import { type StreamSection, streamSection } from "./section-stream.js";
import { type TracingSection, tracingSection } from "./section-tracing.js";
import { checkTargets } from "./targets-check.js";
import { round } from "./usage.js";

const ROOT = new URL("../../", import.meta.url).pathname;

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { cwd: ROOT, encoding: "utf8", timeout: 10_000 }).trim();
  } catch {
    return "";
  }
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** Where a finished run's files went. */
export interface BenchOutput {
  readonly results: BenchResults;
  readonly jsonPath: string;
  readonly markdownPath: string;
  readonly plots: PlotFile[];
}

/**
 * Writes a run's report beside `jsonPath`: for the whole suite `latest` (pointing at it),
 * `latest.md` and the SVG plots; for some `--sections` only `bench-<time>.md`, leaving `latest`,
 * `latest.md` and the plots to the last whole run.
 */
export async function writeReport(
  results: BenchResults,
  jsonPath: string,
): Promise<{ markdownPath: string; plots: PlotFile[] }> {
  const dir = dirname(jsonPath);
  if (results.sections) {
    const markdownPath = jsonPath.replace(/\.json$/, ".md");
    writeFileSync(markdownPath, markdownReport(results, basename(jsonPath), []));
    return { markdownPath, plots: [] };
  }
  pointLatest(dir, jsonPath);
  const plots = await writePlots(results, dir);
  const markdownPath = join(dir, "latest.md");
  writeFileSync(markdownPath, markdownReport(results, basename(jsonPath), plots));
  return { markdownPath, plots };
}

/** Runs every section `options` enables, in order, and writes the run's JSON and report to `outDir`. */
export async function runBench(options: BenchOptions, outDir: string): Promise<BenchOutput> {
  // Before anything runs: a missing redis-server must stop the run, not drop the section.
  if (options.redis && runs(options, "cache")) log(`cache section uses ${requireRedisServer()}`);
  const started = new Date();
  const t0 = performance.now();
  const uptimeBefore = run("uptime", []);
  const load: Array<[number, number]> = [[0, loadAverage()[0]]];
  const loadTimer = setInterval(
    () => load.push([round((performance.now() - t0) / 1000, 0), loadAverage()[0]]),
    10_000,
  );
  loadTimer.unref();
  const errors: string[] = [];
  const attempt = async <T>(name: string, body: () => Promise<T>): Promise<T | undefined> => {
    log(`section ${name} (load ${loadAverage().join(" ")})`);
    try {
      return await body();
    } catch (err) {
      errors.push(`${name}: ${(err as Error).message.split("\n").slice(0, 3).join(" ")}`);
      log(`section ${name} failed: ${(err as Error).stack ?? err}`);
      return undefined;
    }
  };
  const bundle = snapshotBundle();
  const profiles: ProfileSection[] = [];
  let cache: CacheSection | undefined;
  let scaling: ScalingSection | undefined;
  let security: SecuritySection | undefined;
  let straggler: StragglerSection | undefined;
  let historyBackends: HistoryBackendsSection | undefined;
  let tracing: TracingSection | undefined;
  let stream: StreamSection | undefined;
  let soak: SoakSection | undefined;
  let chaos: ChaosSection | undefined;
  let autoscale: StepReaction[] = [];
  try {
    for (const profile of options.profiles.filter((name) => runs(options, name))) {
      const section = await attempt(`profile ${profile}`, () =>
        profileSection(options, bundle.path, profile),
      );
      if (section) profiles.push(section);
    }
    if (options.redis && runs(options, "cache"))
      cache = await attempt("cache", () => cacheSection(options, bundle.path));
    if (options.security && runs(options, "security"))
      security = await attempt("security", () => securitySection(options, bundle.path));
    if (options.stream && runs(options, "stream"))
      stream = await attempt("stream", () => streamSection(options, bundle.path));
    if (options.straggler && runs(options, "straggler"))
      straggler = await attempt("straggler", () => stragglerSection(options, bundle.path));
    if (options.historyBackends && runs(options, "history-backends"))
      historyBackends = await attempt("history-backends", () => historyBackendsSection(options, bundle.path));
    if (options.tracing && runs(options, "tracing"))
      tracing = await attempt("tracing", () => tracingSection(options, bundle.path));
    if (runs(options, "scaling"))
      scaling = await attempt("scaling", () => scalingSection(options, bundle.path));
    if (runs(options, "soak")) soak = await attempt("soak", () => soakSection(options, bundle.path));
    if (runs(options, "chaos")) chaos = await attempt("chaos", () => chaosSection(options, bundle.path));
    // Last, as the issue asks: the load step from idle, per strategy.
    if (runs(options, "autoscale")) {
      autoscale = (await attempt("autoscale", () => autoscaleSection(options, bundle.path))) ?? [];
    }
  } finally {
    clearInterval(loadTimer);
    bundle.remove();
  }
  load.push([round((performance.now() - t0) / 1000, 0), loadAverage()[0]]);
  const cpu = cpus();
  const results: BenchResults = {
    version: 1,
    smoke: options.smoke,
    sections: options.sections,
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    durationS: round((performance.now() - t0) / 1000, 1),
    git: {
      commit: run("git", ["rev-parse", "HEAD"]),
      dirtyFiles: run("git", ["status", "--porcelain"]).split("\n").filter(Boolean).length,
    },
    machine: {
      cpus: cpu.length,
      cpuModel: cpu[0]?.model ?? "unknown",
      memoryGb: round(totalmem() / 2 ** 30, 1),
      node: process.version,
      uptimeBefore,
      uptimeAfter: run("uptime", []),
      load,
    },
    profiles,
    cache,
    scaling,
    security,
    straggler,
    historyBackends,
    tracing,
    stream,
    soak,
    chaos,
    autoscale,
    targets: checkTargets({ profiles, scaling, autoscale, soak, security, straggler }, cpu.length),
    errors,
  };
  mkdirSync(outDir, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, "-");
  const jsonPath = join(outDir, `bench-${stamp}.json`);
  const json = `${JSON.stringify(results, null, 1)}\n`;
  writeFileSync(jsonPath, json);
  return { results, jsonPath, ...(await writeReport(results, jsonPath)) };
}
