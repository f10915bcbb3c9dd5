import { setTimeout as sleep } from "node:timers/promises";

/** What one call reported besides its own timing. */
export interface CallOutcome {
  readonly ok: boolean;
  readonly error?: string | undefined;
  /** Chat turns: the slowest agent task's latency as the orchestrator measured it (ms). */
  readonly slowestAgentMs?: number | undefined;
}

/** One call of the system under test; `index` numbers calls from 0 within a run. */
export type CallFn = (index: number) => Promise<CallOutcome>;

/** How to drive load: closed loop (a fixed number of callers) or open loop (a fixed arrival rate). */
export interface LoadSpec {
  readonly mode: "closed" | "open";
  /** Closed: concurrent callers. Open: most calls in flight; arrivals beyond it are dropped. */
  readonly concurrency: number;
  /** Open loop: arrivals per second. */
  readonly rate?: number | undefined;
  /** Calls started before this are warm-up and not reported (ms). */
  readonly warmupMs: number;
  /** Length of the measured window after the warm-up (ms). */
  readonly durationMs: number;
  /** Hard bound on calls started, warm-up included. */
  readonly maxCalls: number;
  /** Longest wait for calls still in flight after the window (ms). */
  readonly drainMs?: number | undefined;
}

/** One measured call: start time relative to the window start, latency, outcome. */
export interface Sample {
  readonly startMs: number;
  readonly latencyMs: number;
  readonly ok: boolean;
  readonly slowestAgentMs: number;
}

/** The result of one load run. */
export interface LoadResult {
  readonly samples: Sample[];
  /** Successful calls that finished inside the measured window. */
  readonly completedInWindow: number;
  readonly windowMs: number;
  readonly failed: number;
  /** Open loop: arrivals not sent because `concurrency` calls were already in flight. */
  readonly dropped: number;
  /** Calls still in flight when the drain timed out. */
  readonly abandoned: number;
  readonly errors: Record<string, number>;
}

/** Runs `call` under `spec`, bounded in time and count, and collects the measured samples. */
export async function runLoad(spec: LoadSpec, call: CallFn): Promise<LoadResult> {
  const samples: Sample[] = [];
  const errors: Record<string, number> = {};
  const t0 = performance.now();
  const windowStart = t0 + spec.warmupMs;
  const windowEnd = windowStart + spec.durationMs;
  let issued = 0;
  let inFlight = 0;
  let failed = 0;
  let dropped = 0;
  let completedInWindow = 0;
  const pending = new Set<Promise<void>>();

  const one = (): Promise<void> => {
    const index = issued;
    issued += 1;
    inFlight += 1;
    const started = performance.now();
    const record = (outcome: CallOutcome) => {
      const finished = performance.now();
      inFlight -= 1;
      if (!outcome.ok) {
        failed += started >= windowStart ? 1 : 0;
        const key = (outcome.error ?? "error").slice(0, 120);
        errors[key] = (errors[key] ?? 0) + 1;
      } else if (finished >= windowStart && finished <= windowEnd) completedInWindow += 1;
      if (started < windowStart) return;
      samples.push({
        startMs: started - windowStart,
        latencyMs: finished - started,
        ok: outcome.ok,
        slowestAgentMs: outcome.slowestAgentMs ?? Number.NaN,
      });
    };
    const promise = call(index).then(record, (err: unknown) =>
      record({ ok: false, error: (err as Error)?.message ?? String(err) }),
    );
    pending.add(promise);
    void promise.finally(() => pending.delete(promise));
    return promise;
  };

  const more = () => performance.now() < windowEnd && issued < spec.maxCalls;
  if (spec.mode === "closed") {
    const caller = async () => {
      while (more()) await one();
    };
    await Promise.all(Array.from({ length: spec.concurrency }, caller));
  } else {
    const rate = spec.rate ?? 1;
    while (more()) {
      const due = Math.floor(((performance.now() - t0) * rate) / 1000) + 1;
      while (issued + dropped < due && issued < spec.maxCalls) {
        if (inFlight >= spec.concurrency) dropped += 1;
        else void one();
      }
      const nextAt = t0 + ((issued + dropped) * 1000) / rate;
      await sleep(Math.max(1, Math.min(20, nextAt - performance.now())));
    }
  }
  const drainUntil = performance.now() + (spec.drainMs ?? 30_000);
  while (pending.size > 0 && performance.now() < drainUntil) {
    await Promise.race([Promise.allSettled([...pending]), sleep(100)]);
  }
  return {
    samples,
    completedInWindow,
    windowMs: spec.durationMs,
    failed,
    dropped,
    abandoned: pending.size,
    errors,
  };
}

/** Successful calls per second finished inside the measured window. */
export function throughput(result: LoadResult): number {
  return result.windowMs > 0 ? (result.completedInWindow * 1000) / result.windowMs : 0;
}
