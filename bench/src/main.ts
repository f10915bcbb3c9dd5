// `npm run bench` (full suite, ~38 minutes) and `npm run bench:smoke` (seconds, no thresholds).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { resolveRun } from "./latest.js";
import { type BenchOptions, FULL, SMOKE, STALL_VARIANTS } from "./options.js";
import type { BenchResults } from "./results.js";
import { runBench, writeReport } from "./suite.js";
import { checkTargets } from "./targets-check.js";

const { values } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    out: { type: "string" },
    "no-parsl": { type: "boolean", default: false },
    "load-processes": { type: "string" },
    "soak-seconds": { type: "string" },
    "chaos-seconds": { type: "string" },
    "chaos-variants": { type: "string" },
    sections: { type: "string" },
    replot: { type: "string" },
    help: { type: "boolean", default: false },
  },
});

if (values.help) {
  process.stdout.write(
    "usage: bench [--smoke] [--out DIR] [--no-parsl] [--load-processes N] [--soak-seconds S]\n" +
      "             [--chaos-seconds S] [--chaos-variants default,hedged,heartbeat-4000]\n" +
      "             [--sections zero,fast,slow,cache,security,scaling,soak,autoscale,chaos]\n" +
      "             (sections of issues 12 and 13: stream,straggler,history-backends,tracing)\n" +
      "       bench --replot RUN   (targets, latest.md and plots again, beside the run; RUN is a\n" +
      "                            bench-<time>.json, or a results directory or its latest pointer)\n" +
      "  full run: writes bench/results/bench-<time>.json, latest (naming that file), latest.md and SVG plots\n" +
      "  --sections: writes bench-<time>.json and bench-<time>.md only; latest stays on the last full run\n" +
      "  --smoke: every code path in seconds, results in a temporary directory\n",
  );
  process.exit(0);
}

if (values.replot) {
  const runFile = resolveRun(values.replot);
  const stored = JSON.parse(readFileSync(runFile, "utf8")) as BenchResults;
  // Targets are judged again, so a corrected check applies to results already taken.
  const results = { ...stored, targets: checkTargets(stored, stored.machine.cpus) };
  writeFileSync(runFile, `${JSON.stringify(results, null, 1)}\n`);
  // A whole run's report is latest.md and the plots, so latest then names it.
  const { markdownPath, plots } = await writeReport(results, runFile);
  for (const { file, missing } of plots)
    if (missing.length) process.stderr.write(`bench: ${file} has no data for ${missing.join(", ")}\n`);
  process.stdout.write(`${markdownPath}\n`);
  process.exit(0);
}

const base = values.smoke ? SMOKE : FULL;
const soakSeconds = values["soak-seconds"] ? Number(values["soak-seconds"]) : undefined;
const chaosSeconds = values["chaos-seconds"] ? Number(values["chaos-seconds"]) : undefined;
const chaosVariants = values["chaos-variants"]?.split(",").map((name) => {
  const variant = STALL_VARIANTS.find((v) => v.name === name.trim());
  if (!variant) throw new Error(`--chaos-variants: no variant ${name}`);
  return variant;
});
const options: BenchOptions = {
  ...base,
  parsl: base.parsl && !values["no-parsl"],
  autoscale: base.autoscale && { ...base.autoscale, parsl: base.autoscale.parsl && !values["no-parsl"] },
  soak: base.soak && soakSeconds !== undefined ? { ...base.soak, durationMs: soakSeconds * 1000 } : base.soak,
  chaos: base.chaos && {
    ...base.chaos,
    durationMs: chaosSeconds !== undefined ? chaosSeconds * 1000 : base.chaos.durationMs,
    stall: { ...base.chaos.stall, variants: chaosVariants ?? base.chaos.stall.variants },
  },
  loadProcesses: values["load-processes"] ? Number(values["load-processes"]) : base.loadProcesses,
  sections: values.sections?.split(",").map((name) => name.trim()),
};
const outDir =
  values.out ??
  (values.smoke
    ? mkdtempSync(join(tmpdir(), "chorus-bench-smoke-"))
    : new URL("../results/", import.meta.url).pathname);

let output: Awaited<ReturnType<typeof runBench>>;
try {
  output = await runBench(options, outDir);
} catch (err) {
  process.stderr.write(`bench: cannot run: ${(err as Error).message}\n`);
  process.exit(1);
}
process.stdout.write(`${output.markdownPath}\n${output.jsonPath}\n`);
for (const { file, missing } of output.plots)
  if (missing.length) process.stdout.write(`plot ${file} has no data for ${missing.join(", ")}\n`);
for (const target of output.results.targets) {
  const verdict = target.met === null ? "n/a " : target.met ? "met " : "MISS";
  process.stdout.write(`${verdict} ${target.target}: ${target.measured}\n`);
}
if (output.results.errors.length > 0) {
  process.stderr.write(
    `bench: ${output.results.errors.length} section(s) failed:\n${output.results.errors.join("\n")}\n`,
  );
  process.exit(1);
}
process.exit(0);
