/** How many recent task durations a pool keeps. */
const WINDOW = 256;
/** Fewer samples than this say nothing about the tail: no p95 yet. */
const MIN_SAMPLES = 20;
/** The percentile is recomputed after this many new samples, not on every task. */
const REFRESH_EVERY = 16;

/** A pool's recent successful task durations, and their 95th percentile (for hedging). */
export class TaskLatency {
  private readonly samples = new Float64Array(WINDOW);
  private count = 0;
  private next = 0;
  private sinceRefresh = 0;
  private cached: number | undefined;

  /** Records one successful task's duration in ms. */
  record(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % WINDOW;
    this.count = Math.min(WINDOW, this.count + 1);
    this.sinceRefresh += 1;
  }

  /** The 95th percentile (nearest rank) of the recent durations; undefined until enough are known. */
  p95(): number | undefined {
    if (this.count < MIN_SAMPLES) return undefined;
    if (this.cached === undefined || this.sinceRefresh >= REFRESH_EVERY) {
      const sorted = this.samples.slice(0, this.count).sort();
      this.cached = sorted[Math.min(this.count - 1, Math.ceil(0.95 * this.count) - 1)];
      this.sinceRefresh = 0;
    }
    return this.cached;
  }
}
