import { cpus } from "node:os";

interface Reading {
  readonly at: number;
  readonly busy: number;
  readonly total: number;
}

function read(): Reading {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    total += all;
    busy += all - times.idle;
  }
  return { at: Date.now(), busy, total };
}

/** How busy the host's CPUs have been (all processes, not only Chorus) over a recent window. */
export class HostCpu {
  private readonly readings: Reading[] = [read()];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly windowMs = 3000,
    sampleMs = 500,
  ) {
    this.timer = setInterval(() => this.sample(), sampleMs).unref();
  }

  private sample(): Reading {
    const now = read();
    this.readings.push(now);
    while (this.readings.length > 1 && (this.readings[1]?.at ?? now.at) <= now.at - this.windowMs) {
      this.readings.shift();
    }
    return now;
  }

  /** The busy fraction of all CPUs from the window's oldest reading to now (0 before any time passed). */
  busy(): number {
    const oldest = this.readings[0];
    const now = this.sample();
    const total = now.total - (oldest?.total ?? now.total);
    return total > 0 ? (now.busy - (oldest?.busy ?? now.busy)) / total : 0;
  }

  /** Stops sampling. */
  close(): void {
    clearInterval(this.timer);
  }
}
