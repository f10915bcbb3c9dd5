import { setTimeout as sleep } from "node:timers/promises";
import { ChatService } from "@chorus/proto";
import { createClient, type PromiseClient } from "@chorus/shared";
import { drive } from "./drive.js";
import type { LoadResult } from "./load.js";
import { startMesh, startSimulatorProcess } from "./mesh.js";
import type { BenchOptions } from "./options.js";
import { parslPython, runParslStep } from "./parsl.js";
import { meanGenerationMs } from "./profiles.js";
import { percentile } from "./stats.js";
import { round } from "./usage.js";

/** A scale-out decision as the strategy reported it. */
export interface StepEvent {
  readonly ms: number;
  readonly pool: string;
  readonly before: number;
  readonly after: number;
  readonly reason: string;
}

/** How one strategy reacted to a load step from idle to `concurrency` turns. */
export interface StepReaction {
  readonly system: string;
  readonly concurrency: number;
  readonly firstDecisionMs: number | null;
  readonly firstNewBlockServingMs: number | null;
  readonly allBlocksServingMs: number | null;
  readonly p99RecoveredMs: number | null;
  readonly p99ThresholdMs: number;
  readonly turns: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** [ms since the step, serving blocks per pool, requested blocks per pool]. */
  readonly blocks: Array<[number, number, number]>;
  readonly events: StepEvent[];
  /** [ms after the step the turn started, its latency in ms; -1 if it failed]. */
  readonly samples: Array<[number, number]>;
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** Start time (ms after the step) of the first 1 s bucket after which every bucket's p99 is under the threshold. */
export function p99Recovery(result: LoadResult, thresholdMs: number): number | null {
  const buckets = new Map<number, number[]>();
  for (const sample of result.samples) {
    const bucket = Math.floor(sample.startMs / 1000);
    buckets.set(bucket, [
      ...(buckets.get(bucket) ?? []),
      sample.ok ? sample.latencyMs : Number.POSITIVE_INFINITY,
    ]);
  }
  const ordered = [...buckets].sort((a, b) => a[0] - b[0]);
  let recovered: number | null = null;
  for (const [bucket, values] of ordered) {
    const p99 = percentile(
      values.sort((a, b) => a - b),
      99,
    );
    if (p99 > thresholdMs) recovered = null;
    else recovered ??= bucket * 1000;
  }
  return recovered;
}

function summary(
  system: string,
  concurrency: number,
  result: LoadResult,
  threshold: number,
  blocks: Array<[number, number, number]>,
  events: StepEvent[],
): StepReaction {
  const initial = blocks.find(([ms]) => ms >= 0)?.[1] ?? blocks[0]?.[1] ?? 0;
  const target = Math.max(initial, ...blocks.map(([, , requested]) => requested));
  const after = blocks.filter(([ms]) => ms >= 0);
  const firstDecision = events.find((e) => e.ms >= 0 && e.after > e.before);
  const latencies = result.samples
    .filter((s) => s.ok)
    .map((s) => s.latencyMs)
    .sort((a, b) => a - b);
  return {
    system,
    concurrency,
    firstDecisionMs: firstDecision ? round(firstDecision.ms, 0) : null,
    firstNewBlockServingMs: after.find(([, serving]) => serving > initial)?.[0] ?? null,
    allBlocksServingMs:
      target > initial ? (after.find(([, serving]) => serving >= target)?.[0] ?? null) : null,
    p99RecoveredMs: p99Recovery(result, threshold),
    p99ThresholdMs: threshold,
    turns: result.samples.length,
    failed: result.failed + result.abandoned,
    p50Ms: round(percentile(latencies, 50), 1),
    p99Ms: round(percentile(latencies, 99), 1),
    blocks,
    events,
    samples: result.samples.map((s): [number, number] => [
      round(s.startMs, 0),
      s.ok ? round(s.latencyMs, 1) : -1,
    ]),
  };
}

/** Per-pool averages of serving (RUNNING) and requested (RUNNING + PENDING) blocks. */
async function poolBlocks(client: PromiseClient<typeof ChatService>): Promise<[number, number]> {
  const status = await client.getStatus({}, { deadline: new Date(Date.now() + 2000) });
  const pools = status.pools.length || 1;
  let serving = 0;
  let requested = 0;
  for (const pool of status.pools) {
    serving += pool.blocksByState.RUNNING ?? 0;
    requested += (pool.blocksByState.RUNNING ?? 0) + (pool.blocksByState.PENDING ?? 0);
  }
  return [round(serving / pools, 2), round(requested / pools, 2)];
}

async function chorusStep(
  options: NonNullable<BenchOptions["autoscale"]>,
  bundle: string,
  simUrl: string,
  strategy: "chorus" | "simple",
  threshold: number,
  maxCalls: number,
): Promise<StepReaction> {
  const scaling = {
    strategy,
    init_blocks: 1,
    min_blocks: 1,
    max_blocks: options.maxBlocks,
    parallelism: 1,
    max_idletime: 120,
    strategy_period: 5,
  };
  const mesh = await startMesh({
    bundle,
    llmBaseUrl: simUrl,
    profile: "fast",
    pool: { workers: options.workers, scaling },
  });
  const client = createClient(ChatService, mesh.address);
  const watching = new AbortController();
  const events: Array<Omit<StepEvent, "ms"> & { at: number }> = [];
  const blocks: Array<[number, number, number]> = [];
  try {
    const until = Date.now() + 60_000;
    while ((await poolBlocks(client))[0] < 1 && Date.now() < until) await sleep(200);
    const stream = (async () => {
      for await (const event of client.watchScaling({}, { signal: watching.signal })) {
        events.push({
          at: Number(event.timestampMs),
          pool: event.pool,
          before: event.blocksBefore,
          after: event.blocksAfter,
          reason: event.reason,
        });
      }
    })().catch(() => {});
    const stepAt = Date.now() + options.idleMs;
    const poller = (async () => {
      const end = stepAt + options.durationMs;
      while (!watching.signal.aborted && Date.now() < end + 1000) {
        const [serving, requested] = await poolBlocks(client).catch((): [number, number] => [
          Number.NaN,
          Number.NaN,
        ]);
        blocks.push([Date.now() - stepAt, serving, requested]);
        await sleep(200);
      }
    })();
    await sleep(Math.max(0, stepAt - Date.now()));
    const result = await drive(
      {
        mode: "closed",
        concurrency: options.concurrency,
        warmupMs: 0,
        durationMs: options.durationMs,
        maxCalls,
      },
      { kind: "chat", address: mesh.address, tag: `step-${strategy}` },
    );
    watching.abort();
    await Promise.all([stream, poller]);
    // Replayed history from before the bench subscribed is not part of the step.
    const fresh = events
      .filter((e) => e.reason !== "init")
      .map(({ at, ...rest }) => ({ ...rest, ms: at - stepAt }));
    const reaction = summary(`chorus:${strategy}`, options.concurrency, result, threshold, blocks, fresh);
    log(
      `step chorus:${strategy} decision ${reaction.firstDecisionMs} ms, serving ${reaction.firstNewBlockServingMs} ms, p99 ok ${reaction.p99RecoveredMs} ms`,
    );
    return reaction;
  } finally {
    watching.abort();
    client.close();
    await mesh.stop();
  }
}

async function parslStep(
  options: NonNullable<BenchOptions["autoscale"]>,
  simUrl: string,
  threshold: number,
  maxCalls: number,
): Promise<StepReaction> {
  const step = await runParslStep(parslPython(), simUrl, {
    concurrency: options.concurrency,
    idleS: options.idleMs / 1000,
    durationS: options.durationMs / 1000,
    // One Parsl block serves all three agents: as many workers as one block of each Chorus pool.
    workersPerBlock: options.workers * 3,
    maxBlocks: options.maxBlocks,
    strategyPeriodS: 5,
    maxTurns: maxCalls,
  });
  const blocks = step.timeline.map(([ms, launched, connected]): [number, number, number] => [
    round(ms, 0),
    connected,
    launched,
  ]);
  const events: StepEvent[] = [];
  for (let i = 1; i < step.timeline.length; i += 1) {
    const [ms, launched] = step.timeline[i] ?? [0, 0];
    const before = step.timeline[i - 1]?.[1] ?? 0;
    if (launched !== before) events.push({ ms, pool: "htex", before, after: launched, reason: "strategy" });
  }
  const reaction = summary("parsl:simple", options.concurrency, step.result, threshold, blocks, events);
  log(
    `step parsl:simple decision ${reaction.firstDecisionMs} ms, serving ${reaction.firstNewBlockServingMs} ms`,
  );
  return reaction;
}

/** Load steps from idle for Chorus's strategies and Parsl's `simple`, in the fast profile. */
export async function autoscaleSection(options: BenchOptions, bundle: string): Promise<StepReaction[]> {
  const autoscale = options.autoscale;
  if (!autoscale) return [];
  const threshold = round(1.25 * meanGenerationMs("fast"), 0);
  const sim = await startSimulatorProcess(bundle, "fast");
  const reactions: StepReaction[] = [];
  try {
    for (const strategy of autoscale.strategies) {
      reactions.push(await chorusStep(autoscale, bundle, sim.url, strategy, threshold, options.maxCalls));
    }
    if (autoscale.parsl) {
      try {
        reactions.push(await parslStep(autoscale, sim.url, threshold, options.maxCalls));
      } catch (err) {
        log(`parsl step failed: ${(err as Error).message.slice(0, 400)}`);
      }
    }
  } finally {
    await sim.stop();
  }
  return reactions;
}
