/** How one agent task of a turn ended. */
export interface TaskRecord {
  /** `stopped`: aggregation settled without it (fastest, quorum), which is not the agent's failure. */
  readonly outcome: "ok" | "failed" | "stopped";
  /** No agent was asked for it: answered from the cache, or by an identical request's generation in flight. */
  readonly cached: boolean;
  readonly latencyMs: number;
  /** Calls that reached a replica. */
  readonly attempts: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/** Where turns report what happened; one recorder feeds every view of it (GetStats, Prometheus). */
export interface TurnRecorder {
  /** A turn was admitted to dispatch at `atMs` (ms since the epoch). */
  turnStarted(atMs: number): void;
  /** A turn ended at `atMs`, answered or not, after `latencyMs`. */
  turnFinished(ok: boolean, latencyMs: number, atMs: number): void;
  /** A task for `agent` began. */
  taskStarted(agent: string): void;
  /** The cache was asked for `agent`'s answer; joining an identical generation in flight is a hit. */
  cacheLookup(agent: string, hit: boolean): void;
  /** A task for `agent` ended. */
  taskFinished(agent: string, task: TaskRecord): void;
}
