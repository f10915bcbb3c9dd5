import { setTimeout as sleep } from "node:timers/promises";
import { type ChorusUp, startChorusUp } from "@chorus/cli/testing";
import { defaultAgents } from "@chorus/config";
import { ChatService, HistoryService } from "@chorus/proto";
import { createClient, type PromiseClient } from "@chorus/shared";
import {
  type RedisServer,
  reconcile,
  runLoad,
  startRedisServer,
  storedAnswers,
  type TurnOutcome,
} from "@chorus/shared/testing";
import {
  agentPids,
  type ChaosTarget,
  FAULT_KINDS,
  type FaultKind,
  type FaultWindow,
  faultBag,
  injectFault,
  poolsWhole,
  seeded,
} from "./chaos-faults.js";
import type { BenchOptions, ChaosSettings, StallVariant } from "./options.js";
import { simulatorSection } from "./profiles.js";
import { type LatencySummary, summarize } from "./stats.js";

type ChaosOptions = ChaosSettings;

/** One kind of fault over the soak. */
export interface ChaosKindReport {
  readonly kind: FaultKind;
  readonly count: number;
  /** Windows whose service was not back within the bound. */
  readonly unrecovered: number;
  /** Turns that failed inside this kind's windows (+ grace). */
  readonly failedTurns: number;
  /** From the signal to the service back (ms): mean and worst. */
  readonly recoverMeanMs: number;
  readonly recoverMaxMs: number;
  /** Latency of the answered turns in flight during this kind's windows (+ grace). */
  readonly during: LatencySummary;
}

/** One SIGSTOP of an agent replica at the soak's rate: latency before and while it is stopped. */
export interface StallReport {
  readonly variant: string;
  /** What the variant changes from the soak's mesh. */
  readonly change: string;
  readonly stopMs: number;
  readonly healthy: LatencySummary;
  readonly stopped: LatencySummary;
  /** stopped p99 ÷ healthy p99 (the target: ≤ 2). */
  readonly p99Ratio: number;
  readonly failed: number;
  /** The stopped process was killed as a hung replica (not merely resumed at SIGCONT). */
  readonly replaced: boolean;
  /** Every pool was whole again afterwards (bounded wait). */
  readonly whole: boolean;
  /** Agent processes other than the stopped one that were replaced meanwhile (declared lost wrongly). */
  readonly othersReplaced: number;
}

/** A supervised mesh under a fixed arrival rate and a random fault every `faultEveryMs`. */
export interface ChaosSection {
  readonly profile: string;
  readonly rate: number;
  /** Seconds of the soak with random faults, after the SIGSTOP stall on the same mesh at the same rate. */
  readonly durationS: number;
  /** Seconds of load the stall took first (warm-up, healthy, stopped, tail); absent in older results. */
  readonly stallS?: number;
  readonly faultEveryS: number;
  readonly graceMs: number;
  readonly retryForMs: number;
  readonly turns: number;
  readonly ok: number;
  readonly failed: number;
  /** Failed turns outside every fault window (+ grace); the target is 0. */
  readonly failedOutside: number;
  readonly lost: number;
  readonly duplicated: number;
  /** Answered turns whose stored answer differs from the client's. */
  readonly mismatched: number;
  readonly storedButFailed: number;
  readonly retried: number;
  readonly replayed: number;
  readonly outside: LatencySummary;
  readonly kinds: ChaosKindReport[];
  readonly windows: Array<{
    kind: FaultKind;
    atS: number;
    recoverMs: number;
    detail: string;
    recovered: boolean;
  }>;
  /** The first few failures outside the windows, for the report. */
  readonly outsideSamples: string[];
  readonly stalls: StallReport[];
}

const fastReconnect = { "grpc.initial_reconnect_backoff_ms": 50, "grpc.max_reconnect_backoff_ms": 200 };

function meshOverrides(options: ChaosOptions, variant: StallVariant) {
  return {
    simulator: simulatorSection(options.profile),
    orchestrator: { max_concurrent_turns: 1024, queue_limit: 2048, ...variant.orchestrator },
    agents: defaultAgents.map((agent) => ({
      ...agent,
      workers: options.workers,
      scaling: {
        strategy: "none",
        init_blocks: options.replicas,
        min_blocks: 0,
        max_blocks: options.replicas,
      },
      hedge: { ...agent.hedge, ...variant.hedge },
    })),
  };
}

interface Running {
  readonly mesh: ChorusUp;
  readonly chat: PromiseClient<typeof ChatService>;
  stop(): Promise<void>;
}

async function startChaosMesh(
  options: ChaosOptions,
  bundle: string,
  redis: RedisServer,
  variant: StallVariant,
): Promise<Running> {
  const mesh = await startChorusUp(meshOverrides(options, variant), { REDIS_URL: redis.url }, 90_000, bundle);
  const chat = createClient(ChatService, mesh.address, fastReconnect);
  return {
    mesh,
    chat,
    async stop() {
      chat.close();
      await mesh.stop();
    },
  };
}

/** The load the SIGSTOP stall sends (ms at the soak's rate). */
const stallMs = ({ stall }: ChaosOptions) => stall.warmupMs + stall.healthyMs + stall.stopMs + stall.tailMs;

const latencies = (turns: readonly TurnOutcome[]) =>
  summarize(turns.filter((t) => t.ok).map((t) => t.endedAt - t.sentAt));

/** Healthy latency, then one agent replica SIGSTOPped for `stall.stopMs` at the same rate. */
async function stall(options: ChaosOptions, running: Running, variant: StallVariant): Promise<StallReport> {
  const { chat, mesh } = running;
  const { warmupMs, healthyMs, stopMs, tailMs } = options.stall;
  const target = { chat, replicas: options.replicas };
  const before = new Set(agentPids(mesh));
  await runLoad(chat, {
    count: Math.ceil((options.rate * warmupMs) / 1000),
    perSecond: options.rate,
    callTimeoutMs: 30_000,
  });
  const healthyCount = Math.ceil((options.rate * healthyMs) / 1000);
  const stoppedCount = Math.ceil((options.rate * stopMs) / 1000);
  let victim = 0;
  let stoppedAt = 0;
  const outcomes = await runLoad(chat, {
    count: healthyCount + stoppedCount + Math.ceil((options.rate * tailMs) / 1000),
    perSecond: options.rate,
    callTimeoutMs: 30_000,
    onSend: (i) => {
      if (i === healthyCount) {
        const pids = agentPids(mesh);
        victim = pids[Math.floor(Math.random() * pids.length)] ?? 0;
        stoppedAt = Date.now();
        if (victim) process.kill(victim, "SIGSTOP");
      }
      if (i === healthyCount + stoppedCount && victim) {
        try {
          process.kill(victim, "SIGCONT");
        } catch {
          // Already killed as a hung replica.
        }
      }
    },
  });
  // The stopped replica was replaced (killed as hung) or resumed; either way its pool is whole again.
  let whole = false;
  for (let i = 0; i < 300 && !whole; i += 1) {
    whole = await poolsWhole(target).catch(() => false);
    if (!whole) await sleep(100);
  }
  const replaced = victim > 0 && !agentPids(mesh).includes(victim);
  // Healthy: turns that ended before the stop (one still in flight then may have a task on the victim).
  const healthy = latencies(outcomes.slice(0, healthyCount).filter((o) => o.endedAt < stoppedAt));
  const stopped = latencies(outcomes.filter((o) => o.sentAt >= stoppedAt && o.sentAt < stoppedAt + stopMs));
  return {
    variant: variant.name,
    change: variant.change,
    stopMs,
    healthy,
    stopped,
    p99Ratio: Math.round((stopped.p99 / healthy.p99) * 100) / 100,
    failed: outcomes.filter((o) => !o.ok).length,
    replaced,
    whole,
    othersReplaced: [...before].filter((pid) => pid !== victim && !agentPids(mesh).includes(pid)).length,
  };
}

/** Whether a turn was in flight at any moment of the window (+ grace): a fault may have touched it. */
function inWindow(turn: TurnOutcome, window: FaultWindow, graceMs: number): boolean {
  return turn.sentAt <= window.end + graceMs && turn.endedAt >= window.start;
}

/** The soak: `rate` turns/s for `durationMs`, a fault every `faultEveryMs`, then client against history. */
async function soak(options: ChaosOptions, running: Running, redis: RedisServer) {
  const random = seeded(options.seed);
  const next = faultBag(random);
  const target: ChaosTarget = {
    mesh: running.mesh,
    chat: running.chat,
    redis,
    replicas: options.replicas,
    stopMs: options.agentStopMs,
    redisDownMs: options.redisDownMs,
    recoverTimeoutMs: options.recoverTimeoutMs,
    random,
  };
  const t0 = Date.now();
  const load = runLoad(running.chat, {
    count: Math.ceil((options.rate * options.durationMs) / 1000),
    perSecond: options.rate,
    callTimeoutMs: options.callTimeoutMs,
    retryForMs: options.retryForMs,
  });
  const windows: FaultWindow[] = [];
  let due = t0 + options.faultEveryMs;
  while (due + options.graceMs < t0 + options.durationMs) {
    await sleep(Math.max(0, due - Date.now()));
    const window = await injectFault(target, next());
    windows.push(window);
    // The mesh is whole before the next fault (bounded), so each window shows one fault.
    for (let i = 0; i < 200 && !(await poolsWhole(target).catch(() => false)); i += 1) await sleep(100);
    due = Math.max(due + options.faultEveryMs, Date.now() + 2000);
  }
  const outcomes = await load;
  const history = createClient(HistoryService, running.mesh.address, fastReconnect);
  try {
    return { t0, windows, outcomes, stored: await storedAnswers(history) };
  } finally {
    history.close();
  }
}

function summarise(
  options: ChaosOptions,
  run: Awaited<ReturnType<typeof soak>>,
  stalls: StallReport[],
): ChaosSection {
  const { t0, windows, outcomes, stored } = run;
  const grace = options.graceMs;
  const result = reconcile(outcomes, stored);
  const failedOutside = result.failed.filter((t) => !windows.some((w) => inWindow(t, w, grace)));
  const kinds = FAULT_KINDS.map((kind): ChaosKindReport => {
    const mine = windows.filter((w) => w.kind === kind);
    const recover = mine.map((w) => w.end - w.start);
    return {
      kind,
      count: mine.length,
      unrecovered: mine.filter((w) => !w.recovered).length,
      failedTurns: result.failed.filter((t) => mine.some((w) => inWindow(t, w, grace))).length,
      recoverMeanMs: Math.round(recover.reduce((a, b) => a + b, 0) / (recover.length || 1)),
      recoverMaxMs: Math.max(0, ...recover),
      during: latencies(outcomes.filter((t) => mine.some((w) => inWindow(t, w, grace)))),
    };
  });
  return {
    profile: options.profile,
    rate: options.rate,
    durationS: options.durationMs / 1000,
    stallS: stallMs(options) / 1000,
    faultEveryS: options.faultEveryMs / 1000,
    graceMs: grace,
    retryForMs: options.retryForMs,
    turns: outcomes.length,
    ok: result.ok,
    failed: result.failed.length,
    failedOutside: failedOutside.length,
    lost: result.lost.length,
    duplicated: result.duplicated.length,
    mismatched: result.mismatched.length,
    storedButFailed: result.storedButFailed.length,
    retried: outcomes.filter((t) => t.attempts > 1).length,
    replayed: outcomes.filter((t) => t.replayed).length,
    outside: latencies(outcomes.filter((t) => !windows.some((w) => inWindow(t, w, grace)))),
    kinds,
    windows: windows.map((w) => ({
      kind: w.kind,
      atS: Math.round((w.start - t0) / 100) / 10,
      recoverMs: w.end - w.start,
      detail: w.detail,
      recovered: w.recovered,
    })),
    outsideSamples: failedOutside
      .slice(0, 5)
      .map((t) => `${((t.sentAt - t0) / 1000).toFixed(1)} s: ${t.error.slice(0, 160)}`),
    stalls,
  };
}

/**
 * The chaos soak (issue 11): SIGSTOP stalls per variant (healthy p99 against p99 with one agent
 * stopped), then on the first variant's mesh under `chorus up` a random fault every `faultEveryMs`
 * at a fixed rate with unique turn ids, reconciled against history.
 */
export async function chaosSection(options: BenchOptions, bundle: string): Promise<ChaosSection | undefined> {
  const chaos = options.chaos;
  if (!chaos) return undefined;
  const redis = await startRedisServer();
  try {
    const [first, ...others] = chaos.stall.variants;
    if (!first) throw new Error("chaos.stall.variants is empty");
    const stalls: StallReport[] = [];
    for (const variant of others) {
      const running = await startChaosMesh(chaos, bundle, redis, variant);
      try {
        stalls.push(await stall(chaos, running, variant));
      } finally {
        await running.stop();
      }
    }
    const running = await startChaosMesh(chaos, bundle, redis, first);
    try {
      stalls.unshift(await stall(chaos, running, first));
      // The stall is the first stretch of the soak's load: together they last durationMs.
      const rest = { ...chaos, durationMs: Math.max(0, chaos.durationMs - stallMs(chaos)) };
      return summarise(rest, await soak(rest, running, redis), stalls);
    } finally {
      await running.stop();
    }
  } finally {
    await redis.stop();
  }
}
