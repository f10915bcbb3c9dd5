/** Weight of a new sample in a replica's moving average of task durations. */
const ALPHA = 0.3;
/** After this long without a sample, what a replica's average says fades toward the pool's. */
const FADE_MS = 5_000;

/** A replica's recent task durations, as the dispatcher weighs them. */
export interface ReplicaSpeed {
  /** Moving average of task durations (ms); undefined until the first sample. */
  ewmaMs: number | undefined;
  /** When the last sample arrived (ms since epoch). */
  sampledAt: number;
}

/** A replica with no samples yet. */
export function newReplicaSpeed(): ReplicaSpeed {
  return { ewmaMs: undefined, sampledAt: 0 };
}

/** Records how long a finished task ran on the replica. */
export function recordDuration(speed: ReplicaSpeed, ms: number, now = Date.now()): void {
  speed.ewmaMs = speed.ewmaMs === undefined ? ms : speed.ewmaMs + ALPHA * (ms - speed.ewmaMs);
  speed.sampledAt = now;
}

/**
 * Records that the replica's copy of a task lost to a hedge after running `elapsedMs`: its true
 * duration is unknown but longer, so its estimate at least doubles (and is at least `elapsedMs`);
 * a replica that keeps losing gets an exponentially smaller share until it answers in time again.
 */
export function recordHedgeLoss(speed: ReplicaSpeed, elapsedMs: number, now = Date.now()): void {
  speed.ewmaMs = Math.max(elapsedMs, 2 * (speed.ewmaMs ?? elapsedMs));
  speed.sampledAt = now;
}

/**
 * What a task is expected to wait on this replica (peak-EWMA: its average duration times the tasks
 * it would then hold), so a replica much slower than its peers gets tasks only when they are busy.
 * A replica without samples, or whose samples are old, is priced at `typicalMs` (the pool's): an
 * old verdict fades, so a replica that recovered is tried again.
 */
export function expectedCost(speed: ReplicaSpeed, inFlight: number, typicalMs: number, now = Date.now()) {
  let ms = speed.ewmaMs ?? typicalMs;
  const age = now - speed.sampledAt;
  if (speed.ewmaMs !== undefined && age > FADE_MS)
    ms = typicalMs + (ms - typicalMs) * Math.exp(-(age - FADE_MS) / FADE_MS);
  return Math.max(ms, Number.EPSILON) * (inFlight + 1);
}
