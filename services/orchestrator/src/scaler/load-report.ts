import type { Pool, RemoteLoad } from "../executor/pool.js";

/** The pod annotation in which each orchestrator publishes the load it routes, per pool. */
export const LOAD_ANNOTATION = "chorus.dev/load";

/** One orchestrator's load on one pool: outstanding tasks and the blocks (pods) running them. */
export interface PoolLoad {
  readonly tasks: number;
  readonly busy: readonly string[];
}

/** Pool name → load, as published. */
export type LoadReport = Readonly<Record<string, PoolLoad>>;

/** The load this orchestrator routes to each of `pools` right now. */
export function measureLoad(pools: Iterable<Pool>): LoadReport {
  const report: Record<string, PoolLoad> = {};
  for (const pool of pools) {
    const busy = [...pool.blocks.values()].filter((b) => b.inFlight > 0).map((b) => b.id);
    report[pool.name] = { tasks: pool.outstanding, busy: busy.sort() };
  }
  return report;
}

/** The annotation value of a report (stable key order, so equal loads give equal strings). */
export function encodeLoad(report: LoadReport): string {
  const pools = Object.keys(report).sort();
  return JSON.stringify(Object.fromEntries(pools.map((name) => [name, report[name]])));
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

/** Reads an annotation value; anything malformed counts as no load rather than breaking scaling. */
export function parseLoad(value: string | undefined): LoadReport {
  if (!value) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return {};
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return {};
  const report: Record<string, PoolLoad> = {};
  for (const [pool, load] of Object.entries(parsed as Record<string, unknown>)) {
    const { tasks, busy } = (load ?? {}) as { tasks?: unknown; busy?: unknown };
    if (!isCount(tasks)) continue;
    const names = Array.isArray(busy) ? busy.filter((b): b is string => typeof b === "string") : [];
    report[pool] = { tasks, busy: names };
  }
  return report;
}

/** Sums the reports of other orchestrators into each pool's remote load. */
export function sumLoads(reports: Iterable<LoadReport>, pool: string): RemoteLoad {
  let tasks = 0;
  const busy = new Set<string>();
  for (const report of reports) {
    const load = report[pool];
    if (!load) continue;
    tasks += load.tasks;
    for (const name of load.busy) busy.add(name);
  }
  return { tasks, busy };
}
