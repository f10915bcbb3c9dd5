/** Counters a running simulator exposes to tests and benchmarks. */
export interface SimulatorStats {
  /** Chat completion requests received. */
  requests: number;
  /** Sequences generating now. */
  running: number;
  /** Requests waiting for a generation slot. */
  queued: number;
  /** Most sequences that ever generated at once. */
  peakRunning: number;
  /** Answers fully sent. */
  completed: number;
  /** Requests answered 500 by failure_rate. */
  failed: number;
  /** Requests answered 429 because the queue was full. */
  rejected: number;
  /** Requests answered 400 or 413. */
  invalid: number;
  /** Requests whose client went away before the answer was complete. */
  aborted: number;
  /** Prompt tokens of completed answers. */
  promptTokens: number;
  /** Completion tokens of completed answers. */
  completionTokens: number;
}

/** A zeroed stats record. */
export function emptyStats(): SimulatorStats {
  return {
    requests: 0,
    running: 0,
    queued: 0,
    peakRunning: 0,
    completed: 0,
    failed: 0,
    rejected: 0,
    invalid: 0,
    aborted: 0,
    promptTokens: 0,
    completionTokens: 0,
  };
}
