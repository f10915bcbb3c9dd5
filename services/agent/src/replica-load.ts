/** How a generation ended, for the replica's counters. */
export type Outcome = "completed" | "failed" | "cancelled";

/** The replica's worker slots and lifetime counters, as Describe reports them. */
export class ReplicaLoad {
  inFlight = 0;
  completed = 0;
  failed = 0;
  private readonly startedAt = performance.now();
  private idleSince = performance.now();
  private readonly releaseListeners = new Set<() => void>();

  constructor(readonly workers: number) {}

  /** Worker slots free now. */
  get free(): number {
    return this.workers - this.inFlight;
  }

  /** Calls `listener` after every release; returns the unsubscribe. */
  onRelease(listener: () => void): () => void {
    this.releaseListeners.add(listener);
    return () => this.releaseListeners.delete(listener);
  }

  /** Takes a worker slot; false when every worker is busy. */
  tryAcquire(): boolean {
    if (this.inFlight >= this.workers) return false;
    this.inFlight++;
    return true;
  }

  /** Frees a slot taken by tryAcquire and counts how the generation ended. */
  release(outcome: Outcome): void {
    this.inFlight--;
    if (outcome === "completed") this.completed++;
    // A cancelled call is the caller changing its mind (e.g. a faster agent won), not a failure here.
    else if (outcome === "failed") this.failed++;
    if (this.inFlight === 0) this.idleSince = performance.now();
    for (const listener of this.releaseListeners) listener();
  }

  /** Seconds since the replica started. */
  uptimeSeconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  /** Seconds since the replica last became idle; 0 while busy. */
  idleSeconds(): number {
    return this.inFlight > 0 ? 0 : (performance.now() - this.idleSince) / 1000;
  }
}
