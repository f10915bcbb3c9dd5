/** What utilization reads from a pool (the executor's Pool has this shape). */
export interface LoadSource {
  readonly name: string;
  readonly blocks: ReadonlyMap<
    string,
    { readonly state: string; readonly workers: number; readonly inFlight: number }
  >;
  onChange(listener: () => void): void;
}

/** Where pool load goes (the Recorder). */
export interface LoadSink {
  poolLoad(pool: string, busy: number, slots: number): void;
}

/** A pool's busy worker slots, and the slots it has: a running block's workers, a draining one's tasks. */
export function loadOf(pool: LoadSource): { busy: number; slots: number } {
  let busy = 0;
  let slots = 0;
  for (const block of pool.blocks.values()) {
    busy += block.inFlight;
    if (block.state === "RUNNING") slots += block.workers;
    else if (block.state === "DRAINING") slots += block.inFlight;
  }
  return { busy, slots };
}

/** Reports a pool's load to `sink` now and after every change (once per tick, after the change settles). */
export function trackPoolLoad(pool: LoadSource, sink: LoadSink): void {
  let queued = false;
  const report = () => {
    queued = false;
    const { busy, slots } = loadOf(pool);
    sink.poolLoad(pool.name, busy, slots);
  };
  // A change can be followed in the same tick by tasks handed to waiting callers; one report after
  // them sees the settled load, and nothing happens in between (the same tick is the same instant).
  pool.onChange(() => {
    if (queued) return;
    queued = true;
    queueMicrotask(report);
  });
  report();
}
