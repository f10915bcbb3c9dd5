// `npm run bench` (full suite, ~19 minutes) and `npm run bench:smoke` (seconds, no thresholds).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { type BenchOptions, FULL, SMOKE } from "./options.js";
import { writePlots } from "./plots.js";
import { markdownReport } from "./report-md.js";
import type { BenchResults } from "./results.js";
import { runBench } from "./suite.js";
import { checkTargets } from "./targets-check.js";

const { values } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    out: { type: "string" },
    "no-parsl": { type: "boolean", default: false },
    "load-processes": { type: "string" },
    "soak-seconds": { type: "string" },
    sections: { type: "string" },
    replot: { type: "string" },
    help: { type: "boolean", default: false },
  },
});

if (values.help) {
  process.stdout.write(
    "usage: bench [--smoke] [--out DIR] [--no-parsl] [--load-processes N] [--soak-seconds S]\n" +
      "             [--sections zero,fast,slow,cache,scaling,soak,autoscale]\n" +
      "       bench --replot RESULTS.json   (targets, markdown and plots again, beside the file)\n" +
      "  full run: writes bench/results/bench-<time>.json, latest.json, latest.md and PNG plots\n" +
      "  --smoke: every code path in seconds, results in a temporary directory\n",
  );
  process.exit(0);
}

if (values.replot) {
  const stored = JSON.parse(readFileSync(values.replot, "utf8")) as BenchResults;
  // Targets are judged again, so a corrected check applies to results already taken.
  const { profiles, scaling, autoscale, soak, machine } = stored;
  const results = { ...stored, targets: checkTargets(profiles, scaling, autoscale, soak, machine.cpus) };
  writeFileSync(values.replot, `${JSON.stringify(results, null, 1)}\n`);
  const dir = dirname(values.replot);
  writeFileSync(join(dir, "latest.md"), markdownReport(results, writePlots(results, dir)));
  process.stdout.write(`${join(dir, "latest.md")}\n`);
  process.exit(0);
}

const base = values.smoke ? SMOKE : FULL;
const soakSeconds = values["soak-seconds"] ? Number(values["soak-seconds"]) : undefined;
const options: BenchOptions = {
  ...base,
  parsl: base.parsl && !values["no-parsl"],
  autoscale: base.autoscale && { ...base.autoscale, parsl: base.autoscale.parsl && !values["no-parsl"] },
  soak: base.soak && soakSeconds !== undefined ? { ...base.soak, durationMs: soakSeconds * 1000 } : base.soak,
  loadProcesses: values["load-processes"] ? Number(values["load-processes"]) : base.loadProcesses,
  sections: values.sections?.split(",").map((name) => name.trim()),
};
const outDir =
  values.out ??
  (values.smoke
    ? mkdtempSync(join(tmpdir(), "chorus-bench-smoke-"))
    : new URL("../results/", import.meta.url).pathname);

const output = await runBench(options, outDir);
process.stdout.write(`${output.markdownPath}\n${output.jsonPath}\n`);
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
