// "latest" is a pointer, not a copy: a one-line file beside the runs naming the run's JSON file.
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** File name of the pointer in a results directory. */
export const LATEST = "latest";

/** Points `dir`'s `latest` at `runFile`, a run's JSON file in `dir`. */
export function pointLatest(dir: string, runFile: string): void {
  writeFileSync(join(dir, LATEST), `${basename(runFile)}\n`);
}

/** The path of the run `dir`'s `latest` names; throws, naming the file, when either is missing. */
export function latestRun(dir: string): string {
  const pointer = join(dir, LATEST);
  if (!existsSync(pointer)) throw new Error(`${pointer} is missing: no run has been recorded in ${dir}`);
  const name = readFileSync(pointer, "utf8").trim();
  if (!/^[\w.-]+\.json$/.test(name))
    throw new Error(`${pointer} should hold a run's file name, not "${name}"`);
  const run = join(dir, name);
  if (!existsSync(run)) throw new Error(`${pointer} names ${name}, which is not in ${dir}`);
  return run;
}

/** A run's JSON file from a command-line argument: the file itself, its `latest` pointer, or the directory. */
export function resolveRun(path: string): string {
  if (existsSync(path) && statSync(path).isDirectory()) return latestRun(path);
  if (basename(path) === LATEST) return latestRun(dirname(path));
  return path;
}
