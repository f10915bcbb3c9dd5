interface Waiter {
  readonly start: () => void;
  readonly cancel: () => void;
}

/** Admits at most `maxConcurrent` sequences at once, with a bounded FIFO queue for the rest. */
export class Scheduler {
  running = 0;
  peakRunning = 0;
  private readonly waiting: Waiter[] = [];

  constructor(
    private readonly maxConcurrent: number,
    private readonly queueLimit: number,
  ) {}

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves to a release function once the sequence may run; undefined when the queue is full.
   * Rejects with the signal's reason if the caller gives up while queued.
   */
  admit(signal: AbortSignal): Promise<() => void> | undefined {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.running < this.maxConcurrent && this.waiting.length === 0) {
      return Promise.resolve(this.start());
    }
    if (this.waiting.length >= this.queueLimit) return undefined;
    return new Promise((resolve, reject) => {
      const onAbort = () => waiter.cancel();
      const waiter: Waiter = {
        start: () => {
          signal.removeEventListener("abort", onAbort);
          resolve(this.start());
        },
        cancel: () => {
          const index = this.waiting.indexOf(waiter);
          if (index >= 0) this.waiting.splice(index, 1);
          reject(signal.reason);
        },
      };
      this.waiting.push(waiter);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  private start(): () => void {
    this.running++;
    this.peakRunning = Math.max(this.peakRunning, this.running);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      const next = this.waiting.shift();
      next?.start();
    };
  }
}
