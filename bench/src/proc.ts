import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux Node runs on). */
const TICKS_PER_SECOND = 100;

/** One process's CPU time and resident memory at one moment. */
export interface ProcSample {
  readonly pid: number;
  /** user + system CPU time, in seconds. */
  readonly cpuSeconds: number;
  /** Resident set size, in MiB. */
  readonly rssMb: number;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Reads CPU time and RSS of `pid` from /proc; undefined once the process is gone. */
export function sampleProc(pid: number): ProcSample | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  const status = readText(`/proc/${pid}/status`);
  if (!stat || !status) return undefined;
  // The command name (field 2) may contain spaces and parentheses: split after its closing one.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { pid, cpuSeconds: (utime + stime) / TICKS_PER_SECOND, rssMb: rssKb / 1024 };
}

/** The direct children of `pid`, read from every thread's children list. */
export function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children = new Set<number>();
  for (const task of tasks) {
    const text = readText(`/proc/${pid}/task/${task}/children`) ?? "";
    for (const part of text.split(" ")) if (part.trim()) children.add(Number(part));
  }
  return [...children];
}

/** `pid` and all its descendants, parents first (bounded depth). */
export function processTree(pid: number, depth = 6): number[] {
  if (depth === 0) return [pid];
  return [pid, ...childrenOf(pid).flatMap((child) => processTree(child, depth - 1))];
}

/** Every process id on the machine. */
export function allPids(): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** The command line of `pid` as its arguments. */
export function cmdlineOf(pid: number): string[] {
  return (readText(`/proc/${pid}/cmdline`) ?? "").split("\0").filter((part) => part.length > 0);
}

/**
 * The Chorus service a process of `chorus up` is, from its command line: "orchestrator", "history",
 * "llm-sim", "agent:<pool>", or "up" for the supervisor itself.
 */
export function serviceOf(pid: number): string {
  const args = cmdlineOf(pid);
  const command = args.findIndex((arg) => arg.endsWith(".mjs"));
  const verb = command >= 0 ? args[command + 1] : undefined;
  if (verb === "agent") {
    const flag = args.indexOf("--agent");
    return `agent:${flag >= 0 ? args[flag + 1] : "?"}`;
  }
  return verb ?? args[0] ?? "?";
}

/** Machine-wide CPU time (all cores) from /proc/stat, in seconds: busy and total. */
export function machineCpu(): { busy: number; total: number } {
  const line = (readText("/proc/stat") ?? "").split("\n")[0] ?? "";
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  const total = values.reduce((sum, value) => sum + value, 0);
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}

/** The 1, 5 and 15 minute load averages. */
export function loadAverage(): [number, number, number] {
  const parts = (readText("/proc/loadavg") ?? "0 0 0").split(" ").map(Number);
  return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0];
}
