// Provides what the tests need before any test runs, one progress line per step; run-tests.mjs and .ci/run call it.
//
//   node tools/test-setup/provision.mjs                     # install what is missing, or say what cannot be
//   node tools/test-setup/provision.mjs --plan              # only say what it would do
//   node tools/test-setup/provision.mjs --plan --non-root   # ... as if this user were not root
import { spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { Machine } from "./machine.mjs";
import { explain, makePlan } from "./plan.mjs";
import { otelcolBin, REPO_ROOT, toolsBin } from "./requirements.mjs";

/** Thrown when something the tests need is missing and cannot be installed here; the message says what and how. */
export class ProvisionError extends Error {}

/** A slow step says it is still running this often. */
const HEARTBEAT_MS = 60_000;
/** The scripts' own progress lines, echoed while the rest of their output goes to the step's log. */
const SCRIPT_PROGRESS = /^(\[testenv\/build(-otelcol)?\]|ensure-venv:) /;

/** The default progress sink: one `test-setup: …` line on stderr. */
function stderrLog(message) {
  process.stderr.write(`test-setup: ${message}\n`);
}

function since(t0) {
  const seconds = (Date.now() - t0) / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, "0")}s`;
}

/** Runs a command with its output appended to `logFile`; resolves with its exit code. */
function run(command, args, { env, logFile, onLine }) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk) => appendFileSync(logFile, chunk));
    createInterface({ input: child.stderr }).on("line", (line) => {
      appendFileSync(logFile, `${line}\n`);
      if (onLine) onLine(line);
    });
    child.on("error", (err) => {
      appendFileSync(logFile, `${err.message}\n`);
      resolve(127);
    });
    child.on("close", (code) => resolve(code ?? 1));
  });
}

/** Runs one step, logging one line when done (and a start line and heartbeats when it is slow). */
async function step(title, command, args, { env, logDir, takes, log }) {
  const t0 = Date.now();
  const logFile = join(logDir, `${title.replace(/[^\w.-]+/g, "-").slice(0, 60)}.log`);
  if (takes) log(`${title}: started (${takes})`);
  const heartbeat = takes
    ? setInterval(() => log(`${title}: still running (${since(t0)})`), HEARTBEAT_MS)
    : undefined;
  const onLine = (line) => SCRIPT_PROGRESS.test(line) && log(`  ${line}`);
  const code = await run(command, args, { env, logFile, onLine }).finally(() => clearInterval(heartbeat));
  if (code !== 0) {
    const tail = readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-15);
    throw new Error(
      [`${title} failed (exit ${code}; is the network reachable?). Last lines of ${logFile}:`, ...tail]
        .map((line, i) => (i === 0 ? line : `  | ${line}`))
        .join("\n"),
    );
  }
  log(`${title}: done in ${since(t0)}`);
}

/** Fills one gap: apt-get update then install for Debian packages, else the gap's script. */
async function fill(gap, cache, logDir, log) {
  const env = { ...process.env, CHORUS_CACHE: cache };
  if (gap.kind === "apt") {
    const apt = { env: { ...env, DEBIAN_FRONTEND: "noninteractive" }, logDir, takes: undefined, log };
    await step("apt-get update", "apt-get", ["update", "-qq"], apt);
    await step(
      `apt-get install ${gap.packages.join(" ")}`,
      "apt-get",
      ["install", "-y", "-qq", ...gap.packages],
      apt,
    );
  } else {
    await step(`bash ${gap.script}`, "bash", [gap.script], { env, logDir, takes: gap.takes, log });
  }
}

/** The dirs test processes get in front of PATH: the Go tools', the collector's and PostgreSQL's bin dirs. */
function binDirs(machine) {
  return [toolsBin(machine.cache), otelcolBin(machine.cache), machine.postgresBin()].filter(
    (dir) => dir !== undefined,
  );
}

/** What test processes need in their environment: the cache, and PATH with the Go tools, the collector and PostgreSQL first. */
export function testEnv(machine) {
  const path = [...binDirs(machine), machine.env.PATH].filter(Boolean).join(delimiter);
  return { CHORUS_CACHE: machine.cache, PATH: path };
}

/**
 * Detects what the tests need, installs what is missing (apt-get as root, then the scripts), and
 * returns the environment for test processes. Throws a ProvisionError, before any test runs, when
 * something is missing that it cannot install; with `planOnly` it only says what it would do.
 * Progress goes to `log` (stderr by default).
 */
export async function provision({ machine = new Machine(), planOnly = false, log = stderrLog } = {}) {
  const t0 = Date.now();
  let plan = makePlan(machine);
  log(
    `cache ${plan.cache}; ${plan.gaps.length === 0 ? "nothing missing" : `missing: ${plan.missing.join(", ")}`}`,
  );
  if (plan.gaps.some((gap) => !gap.runnable)) throw new ProvisionError(explain(plan));
  if (planOnly) {
    for (const gap of plan.gaps) log(`would run: ${gap.command}`);
  } else if (plan.gaps.length > 0) {
    const logDir = mkdtempSync(join(tmpdir(), "chorus-test-setup-"));
    let failure;
    try {
      for (const gap of plan.gaps) await fill(gap, plan.cache, logDir, log);
    } catch (err) {
      failure = /** @type {Error} */ (err).message;
    }
    plan = makePlan(machine);
    if (failure || plan.gaps.length > 0) {
      throw new ProvisionError(
        explain(plan, failure ?? "Every step succeeded, yet these are still not found."),
      );
    }
    rmSync(logDir, { recursive: true, force: true });
  }
  if (!machine.isRoot) {
    log("not root: the network-namespace tests (testenv, helm e2e, Kubernetes provider) will fail saying so");
  }
  log(
    `${planOnly ? "planned" : "ready"} in ${since(t0)}; tests get ${binDirs(machine).join(" and ")} on PATH`,
  );
  return testEnv(machine);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const unknown = args.filter((arg) => arg !== "--plan" && arg !== "--non-root");
  if (unknown.length > 0) {
    process.stderr.write(`usage: provision.mjs [--plan] [--non-root] (unknown: ${unknown.join(" ")})\n`);
    process.exit(2);
  }
  const machine = new Machine(args.includes("--non-root") ? { isRoot: false } : {});
  try {
    await provision({ machine, planOnly: args.includes("--plan") });
  } catch (err) {
    if (!(err instanceof ProvisionError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
