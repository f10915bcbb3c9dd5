import { machineCpu, type ProcSample, sampleProc } from "./proc.js";

/** A process to watch and the name its numbers are reported under. */
export interface WatchedProcess {
  readonly pid: number;
  readonly service: string;
}

/** CPU and memory of one service (all its processes) over a measurement window. */
export interface ServiceUsage {
  readonly service: string;
  readonly processes: number;
  /** CPU used, in cores (1 = one core busy the whole window). */
  readonly cpuCores: number;
  /** RSS per process at the end of the window, averaged over the service's processes (MiB). */
  readonly rssMb: number;
  /** Largest RSS any of its processes had during the window (MiB). */
  readonly maxRssMb: number;
}

/** What a usage watch saw. */
export interface UsageReport {
  readonly seconds: number;
  /** Busy cores of the whole machine (every process, including other users'). */
  readonly machineBusyCores: number;
  readonly services: ServiceUsage[];
}

interface Track {
  readonly service: string;
  first: ProcSample;
  last: ProcSample;
  maxRss: number;
}

/** Samples the processes `list` returns every `intervalMs` until stop() returns the report. */
export function watchUsage(list: () => WatchedProcess[], intervalMs = 500): { stop(): UsageReport } {
  const tracks = new Map<number, Track>();
  const started = performance.now();
  const machineStart = machineCpu();
  const sample = () => {
    for (const { pid, service } of list()) {
      const now = sampleProc(pid);
      if (!now) continue;
      const track = tracks.get(pid);
      if (!track) tracks.set(pid, { service, first: now, last: now, maxRss: now.rssMb });
      else {
        track.last = now;
        track.maxRss = Math.max(track.maxRss, now.rssMb);
      }
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    stop() {
      sample();
      clearInterval(timer);
      const seconds = (performance.now() - started) / 1000;
      const machineEnd = machineCpu();
      const byService = new Map<string, Track[]>();
      for (const track of tracks.values()) {
        byService.set(track.service, [...(byService.get(track.service) ?? []), track]);
      }
      const services = [...byService].map(([service, group]): ServiceUsage => {
        const cpu = group.reduce((sum, t) => sum + t.last.cpuSeconds - t.first.cpuSeconds, 0);
        return {
          service,
          processes: group.length,
          cpuCores: round(cpu / seconds, 3),
          rssMb: round(group.reduce((sum, t) => sum + t.last.rssMb, 0) / group.length, 1),
          maxRssMb: round(Math.max(...group.map((t) => t.maxRss)), 1),
        };
      });
      services.sort((a, b) => a.service.localeCompare(b.service));
      const machineSeconds = machineEnd.total - machineStart.total;
      const cores = machineSeconds > 0 ? (machineEnd.busy - machineStart.busy) / seconds : 0;
      return { seconds: round(seconds, 2), machineBusyCores: round(cores, 2), services };
    },
  };
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** One report for runs made one after another: CPU in cores over their summed windows, the last RSS. */
export function poolUsage(reports: readonly UsageReport[]): UsageReport | undefined {
  const seconds = reports.reduce((sum, r) => sum + r.seconds, 0);
  if (reports.length === 0 || seconds <= 0) return undefined;
  // Cores × seconds is CPU time, which adds up across windows; cores alone do not.
  const cpuSeconds = new Map<string, number>();
  const seen = new Map<string, ServiceUsage[]>();
  let machineSeconds = 0;
  for (const report of reports) {
    machineSeconds += report.machineBusyCores * report.seconds;
    for (const s of report.services) {
      cpuSeconds.set(s.service, (cpuSeconds.get(s.service) ?? 0) + s.cpuCores * report.seconds);
      seen.set(s.service, [...(seen.get(s.service) ?? []), s]);
    }
  }
  const services = [...seen].map(
    ([service, usages]): ServiceUsage => ({
      service,
      processes: Math.max(...usages.map((s) => s.processes)),
      cpuCores: round((cpuSeconds.get(service) ?? 0) / seconds, 3),
      rssMb: usages.at(-1)?.rssMb ?? 0,
      maxRssMb: Math.max(...usages.map((s) => s.maxRssMb)),
    }),
  );
  services.sort((a, b) => a.service.localeCompare(b.service));
  return { seconds: round(seconds, 2), machineBusyCores: round(machineSeconds / seconds, 2), services };
}
