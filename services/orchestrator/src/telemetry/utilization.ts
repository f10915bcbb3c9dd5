interface Bucket {
  /** Bucket number: start time divided by the bucket width. */
  readonly index: number;
  /** Busy worker-milliseconds in the bucket. */
  busy: number;
  /** Available worker-milliseconds in the bucket. */
  slots: number;
}

/** How many buckets a window is cut into; its edge is exact to one bucket. */
const BUCKETS_PER_WINDOW = 60;

/**
 * Busy worker-time over available worker-time in a sliding window, from a pool's load levels.
 * Both are integrals of a step function (the level holds until the next `set`), kept per bucket.
 */
export class UtilizationWindow {
  private readonly buckets: Bucket[] = [];
  private readonly bucketMs: number;
  private busy = 0;
  private slots = 0;
  private since: number | undefined;

  constructor(private readonly windowMs: number) {
    this.bucketMs = windowMs / BUCKETS_PER_WINDOW;
  }

  /** Records that from `at` (ms, monotonic) on, `busy` of `slots` worker slots are in use. */
  set(at: number, busy: number, slots: number): void {
    this.advance(at);
    this.busy = busy;
    this.slots = slots;
  }

  /** Busy ÷ available worker-time over the window ending at `at`; 0 when no slot was available. */
  ratio(at: number): number {
    this.advance(at);
    const first = Math.ceil((at - this.windowMs) / this.bucketMs);
    let busy = 0;
    let slots = 0;
    for (const bucket of this.buckets) {
      if (bucket.index < first) continue;
      busy += bucket.busy;
      slots += bucket.slots;
    }
    return slots === 0 ? 0 : Math.min(1, busy / slots);
  }

  // Adds the current level from `since` to `at`, split at bucket edges; drops buckets past the window.
  private advance(at: number): void {
    const from = Math.max(this.since ?? at, at - this.windowMs - this.bucketMs);
    this.since = at;
    for (let start = from; start < at; ) {
      const index = Math.floor(start / this.bucketMs);
      const end = Math.min(at, (index + 1) * this.bucketMs);
      const bucket = this.bucket(index);
      bucket.busy += this.busy * (end - start);
      bucket.slots += this.slots * (end - start);
      start = end;
    }
    const oldest = Math.floor(at / this.bucketMs) - BUCKETS_PER_WINDOW;
    while ((this.buckets[0]?.index ?? oldest) < oldest) this.buckets.shift();
  }

  private bucket(index: number): Bucket {
    const last = this.buckets.at(-1);
    if (last?.index === index) return last;
    const bucket = { index, busy: 0, slots: 0 };
    this.buckets.push(bucket);
    return bucket;
  }
}
