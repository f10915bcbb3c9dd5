/**
 * Tells Chorus's own replica writes from everyone else's on a Deployment's watch stream. A write
 * is "ours" until its echo (an event with that count) arrives; events seen before the echo may be
 * older than the write and are not judged. A count that differs from the last one Chorus wrote,
 * with no echo pending, was set elsewhere (`kubectl scale`, another tool).
 */
export class ReplicaEchoes {
  private pending: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The count Chorus believes the Deployment has: the last one it wrote, or the last it adopted. */
  expected: number | undefined;

  /**
   * @param onSettled called when a watched count arrives with no echo pending, so the caller can
   * judge it
   * @param onGiveUp called when an echo did not come in time (a write that changed nothing, or a
   * watch that missed it): the caller should not judge the count it has, only write again if needed
   */
  constructor(
    private readonly onSettled: () => void,
    private readonly onGiveUp: () => void,
    private readonly giveUpMs = 10_000,
  ) {}

  /** The count the Deployment will have once pending writes land, or `observed`. */
  current(observed: number | undefined): number | undefined {
    return this.pending.at(-1) ?? observed;
  }

  /** True while a write's echo has not been seen. */
  get waiting(): boolean {
    return this.pending.length > 0;
  }

  /** Records a write of `count`; returns a function that forgets it if the write fails. */
  wrote(count: number): () => void {
    const before = this.expected;
    this.pending.push(count);
    this.expected = count;
    clearTimeout(this.timer);
    // A write that changed nothing on the server has no echo; stop waiting for it eventually.
    this.timer = setTimeout(() => {
      this.reset();
      this.onGiveUp();
    }, this.giveUpMs);
    this.timer.unref();
    return () => {
      const index = this.pending.lastIndexOf(count);
      if (index >= 0) this.pending.splice(index, 1);
      this.expected = before;
      if (this.pending.length === 0) clearTimeout(this.timer);
    };
  }

  /** Feeds a count seen on the watch; judges it once no echo is pending. */
  observed(count: number): void {
    const index = this.pending.indexOf(count);
    if (index >= 0) this.pending.splice(0, index + 1);
    if (this.pending.length > 0) return;
    clearTimeout(this.timer);
    this.onSettled();
  }

  /** Forgets pending writes, e.g. when leadership changes. */
  reset(): void {
    this.pending = [];
    clearTimeout(this.timer);
  }

  /** Stops the give-up timer. */
  close(): void {
    clearTimeout(this.timer);
  }
}
