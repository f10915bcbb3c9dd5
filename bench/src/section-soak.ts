import { setTimeout as sleep } from "node:timers/promises";
import { drive } from "./drive.js";
import { type RunRecord, record } from "./measure.js";
import { fixedPool, startMesh, startSimulatorProcess } from "./mesh.js";
import type { BenchOptions } from "./options.js";
import { sampleProc } from "./proc.js";
import { slope } from "./stats.js";
import { round, type WatchedProcess } from "./usage.js";

/** RSS of one service over the soak. */
export interface SoakSeries {
  readonly service: string;
  /** Mean RSS per process when idle before the load (MiB). */
  readonly idleBeforeMb: number;
  /** …after the unrecorded warm-up at the soak's rate (absent in results taken before it existed). */
  readonly warmMb?: number;
  /** …after the first quarter of the soak, at its end, and idle again afterwards. */
  readonly earlyMb: number;
  readonly endMb: number;
  readonly idleAfterMb: number;
  /** Least-squares RSS growth over the last three quarters of the soak (MiB per minute). */
  readonly slopeMbPerMin: number;
  /** [seconds into the soak, mean RSS per process]. */
  readonly points: Array<[number, number]>;
}

/** A bounded soak at a fixed arrival rate, watching every service's memory. */
export interface SoakSection {
  readonly durationS: number;
  /** Seconds of unrecorded load at the same rate before the soak (absent: none). */
  readonly warmupS?: number;
  readonly rate: number;
  readonly run: RunRecord;
  readonly series: SoakSeries[];
}

function rssByService(processes: WatchedProcess[]): Map<string, number> {
  const groups = new Map<string, number[]>();
  for (const { pid, service } of processes) {
    const sample = sampleProc(pid);
    if (sample) groups.set(service, [...(groups.get(service) ?? []), sample.rssMb]);
  }
  return new Map(
    [...groups].map(([service, values]) => [service, values.reduce((a, b) => a + b, 0) / values.length]),
  );
}

/** Idle RSS, an unrecorded warm-up, then `rate` turns/s open-loop for the soak, then idle RSS again. */
export async function soakSection(options: BenchOptions, bundle: string): Promise<SoakSection | undefined> {
  const soak = options.soak;
  if (!soak) return undefined;
  const sim = await startSimulatorProcess(bundle, "zero");
  try {
    const mesh = await startMesh({ bundle, llmBaseUrl: sim.url, profile: "zero", pool: fixedPool(16, 1) });
    try {
      const processes = () => mesh.processes().filter((p) => p.service !== "up");
      await sleep(soak.idleMs);
      const idleBefore = rssByService(processes());
      const openLoop = (durationMs: number) => ({
        mode: "open" as const,
        rate: soak.rate,
        concurrency: 256,
        warmupMs: 0,
        durationMs,
        maxCalls: Math.ceil((soak.rate * durationMs) / 1000) + 10,
      });
      await drive(openLoop(soak.warmupMs), { kind: "chat", address: mesh.address, tag: "soak-warmup" });
      const warm = rssByService(processes());
      const points = new Map<string, Array<[number, number]>>();
      const started = performance.now();
      const sampler = setInterval(() => {
        const seconds = (performance.now() - started) / 1000;
        for (const [service, rss] of rssByService(processes())) {
          points.set(service, [...(points.get(service) ?? []), [round(seconds, 1), round(rss, 1)]]);
        }
      }, soak.sampleMs);
      const spec = openLoop(soak.durationMs);
      const result = await drive(spec, { kind: "chat", address: mesh.address, tag: "soak" });
      clearInterval(sampler);
      const end = rssByService(processes());
      await sleep(soak.idleMs);
      const idleAfter = rssByService(processes());
      const durationS = soak.durationMs / 1000;
      const series = [...idleBefore.keys()].map((service): SoakSeries => {
        const line = points.get(service) ?? [];
        const late = line.filter(([t]) => t >= durationS / 4);
        return {
          service,
          idleBeforeMb: round(idleBefore.get(service) ?? Number.NaN, 1),
          warmMb: round(warm.get(service) ?? Number.NaN, 1),
          earlyMb: late[0]?.[1] ?? Number.NaN,
          endMb: round(end.get(service) ?? Number.NaN, 1),
          idleAfterMb: round(idleAfter.get(service) ?? Number.NaN, 1),
          slopeMbPerMin: round(slope(late) * 60, 2),
          points: line,
        };
      });
      return {
        durationS,
        warmupS: soak.warmupMs / 1000,
        rate: soak.rate,
        run: record("chorus-soak", "zero", spec, result),
        series,
      };
    } finally {
      await mesh.stop();
    }
  } finally {
    await sim.stop();
  }
}
