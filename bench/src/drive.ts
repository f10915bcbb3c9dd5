import { type ChildProcess, fork } from "node:child_process";
import { type LoadResult, type LoadSpec, runLoad } from "./load.js";
import { openTarget, type Target, type TargetSpec } from "./targets.js";

const WORKER = new URL("./load-worker.ts", import.meta.url).pathname;

/** Load-generator processes currently running (for CPU accounting). */
export const activeWorkers = new Set<number>();

function split(total: number, parts: number, index: number): number {
  return Math.floor(total / parts) + (index < total % parts ? 1 : 0);
}

function withTag(target: TargetSpec, suffix: string): TargetSpec {
  return "tag" in target ? { ...target, tag: `${target.tag}${suffix}` } : target;
}

/** Merges the results of several load processes that ran the same window. */
export function mergeResults(results: readonly LoadResult[]): LoadResult {
  const errors: Record<string, number> = {};
  for (const result of results) {
    for (const [key, count] of Object.entries(result.errors)) errors[key] = (errors[key] ?? 0) + count;
  }
  const sum = (pick: (r: LoadResult) => number) => results.reduce((total, r) => total + pick(r), 0);
  return {
    samples: results.flatMap((r) => r.samples),
    completedInWindow: sum((r) => r.completedInWindow),
    windowMs: results[0]?.windowMs ?? 0,
    failed: sum((r) => r.failed),
    dropped: sum((r) => r.dropped),
    abandoned: sum((r) => r.abandoned),
    errors,
  };
}

/** Results of runs made one after another, as if one run over their summed windows. */
export function concatResults(results: readonly LoadResult[]): LoadResult {
  return { ...mergeResults(results), windowMs: results.reduce((sum, r) => sum + r.windowMs, 0) };
}

function awaitMessage<T>(child: ChildProcess, key: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`load worker sent no ${key} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onMessage = (message: Record<string, unknown>) => {
      if (!(key in message)) return;
      clearTimeout(timer);
      child.off("message", onMessage);
      resolve(message[key] as T);
    };
    child.on("message", onMessage);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`load worker exited with ${code}`));
    });
  });
}

/** Called when the measured window opens and when it closes. */
export interface WindowHooks {
  readonly onStart?: () => void;
  readonly onEnd?: () => void;
}

function scheduleWindow(spec: LoadSpec, startAt: number, hooks: WindowHooks): () => void {
  const opens = setTimeout(() => hooks.onStart?.(), Math.max(0, startAt + spec.warmupMs - Date.now()));
  const closes = setTimeout(
    () => hooks.onEnd?.(),
    Math.max(0, startAt + spec.warmupMs + spec.durationMs - Date.now()),
  );
  return () => {
    clearTimeout(opens);
    clearTimeout(closes);
  };
}

/** Drives an already open `target` from this process; its connections outlive the run. */
export async function driveOpen(
  spec: LoadSpec,
  target: Target,
  hooks: WindowHooks = {},
): Promise<LoadResult> {
  const cancel = scheduleWindow(spec, Date.now(), hooks);
  try {
    return await runLoad(spec, target.call);
  } finally {
    cancel();
  }
}

/**
 * Drives `target` under `spec`: an open target from this process; a target spec from this process
 * or from `processes` forked load processes, each connecting for the run.
 */
export async function drive(
  spec: LoadSpec,
  target: TargetSpec | Target,
  processes = 1,
  hooks: WindowHooks = {},
): Promise<LoadResult> {
  if ("call" in target) return driveOpen(spec, target, hooks);
  if (processes <= 1) {
    const opened = await openTarget(target);
    try {
      return await driveOpen(spec, opened, hooks);
    } finally {
      await opened.close();
    }
  }
  const children = Array.from({ length: processes }, () =>
    fork(WORKER, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] }),
  );
  try {
    for (const child of children) if (child.pid) activeWorkers.add(child.pid);
    const readies = children.map((child, i) => {
      const share: LoadSpec = {
        ...spec,
        concurrency: Math.max(1, split(spec.concurrency, processes, i)),
        rate: spec.rate === undefined ? undefined : spec.rate / processes,
        maxCalls: Math.max(1, split(spec.maxCalls, processes, i)),
      };
      const ready = awaitMessage<boolean>(child, "ready", 30_000);
      child.send({ spec: share, target: withTag(target, `-w${i}`) });
      return ready;
    });
    await Promise.all(readies);
    const bound = spec.warmupMs + spec.durationMs + (spec.drainMs ?? 30_000) + 30_000;
    const results = children.map((child) => awaitMessage<LoadResult>(child, "result", bound));
    const startAt = Date.now() + 200;
    for (const child of children) child.send({ startAt });
    const cancel = scheduleWindow(spec, startAt, hooks);
    try {
      return mergeResults(await Promise.all(results));
    } finally {
      cancel();
    }
  } finally {
    for (const child of children) {
      if (child.pid) activeWorkers.delete(child.pid);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    }
  }
}
