const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

/**
 * Runs one async job at a time: a request during a run makes it run once more afterwards, and a
 * failure retries it after a back-off that doubles up to 30 s (and starts over after a success).
 */
export class SerialRunner {
  private running = false;
  private again = false;
  private retryMs = FIRST_RETRY_MS;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /**
   * @param job the work; it reads the current state each time, so running it again is safe
   * @param onError told of each failure and the wait before the retry
   */
  constructor(
    private readonly job: () => Promise<void>,
    private readonly onError: (err: unknown, retryMs: number) => void,
  ) {}

  /** Runs the job now, or once more after the current run. */
  request(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.job();
      } while (this.again && !this.closed);
      this.retryMs = FIRST_RETRY_MS;
    } catch (err) {
      this.onError(err, this.retryMs);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.request(), this.retryMs);
      this.timer.unref();
      this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
    } finally {
      this.running = false;
    }
  }

  /** Stops running and retrying. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
