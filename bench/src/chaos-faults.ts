import { setTimeout as sleep } from "node:timers/promises";
import type { ChorusUp } from "@chorus/cli/testing";
import type { ChatService } from "@chorus/proto";
import type { PromiseClient } from "@chorus/shared";
import { type RedisServer, servingAgain } from "@chorus/shared/testing";
import { processTree, serviceOf } from "./proc.js";

/** The faults the chaos soak draws from. */
export const FAULT_KINDS = [
  "kill-history",
  "kill-llm-sim",
  "kill-agent",
  "kill-orchestrator",
  "stop-agent",
  "redis-restart",
] as const;

/** One kind of fault. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** One injected fault: from the signal to the service being back (ms since the epoch). */
export interface FaultWindow {
  readonly kind: FaultKind;
  readonly start: number;
  readonly end: number;
  /** What was hit, or why the fault did not recover within its bound. */
  readonly detail: string;
  /** False when the service was not back within the bound (the window then ends at the bound). */
  readonly recovered: boolean;
}

/** What a fault needs to reach the mesh. */
export interface ChaosTarget {
  readonly mesh: ChorusUp;
  readonly chat: PromiseClient<typeof ChatService>;
  readonly redis: RedisServer;
  /** Replicas every pool runs when whole. */
  readonly replicas: number;
  /** How long `stop-agent` keeps its victim stopped, and Redis stays down. */
  readonly stopMs: number;
  readonly redisDownMs: number;
  /** Every wait for recovery ends after this long. */
  readonly recoverTimeoutMs: number;
  readonly random: () => number;
}

const status = (chat: PromiseClient<typeof ChatService>) =>
  chat.getStatus({}, { deadline: new Date(Date.now() + 2000) });

/** The pids of the mesh's agent processes (descendants of its orchestrator). */
export function agentPids(mesh: ChorusUp): number[] {
  const orchestrator = mesh.pids().orchestrator;
  if (orchestrator === undefined) return [];
  return processTree(orchestrator).filter((pid) => serviceOf(pid).startsWith("agent:"));
}

/** Polls `check` every 50 ms until it holds; resolves with whether it did within `timeoutMs`. */
async function until(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      if (await check()) return true;
    } catch {
      // Not answering yet: that is what we wait out.
    }
    await sleep(50);
  }
  return false;
}

/** Whether every pool runs its whole replica count. */
export async function poolsWhole(target: Pick<ChaosTarget, "chat" | "replicas">): Promise<boolean> {
  const { pools } = await status(target.chat);
  return (
    pools.length > 0 &&
    pools.every((p) => p.replicas.filter((r) => r.state === "RUNNING").length >= target.replicas)
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function killService(target: ChaosTarget, name: string): Promise<[boolean, string]> {
  const victim = target.mesh.pids()[name];
  if (victim === undefined) return [false, `${name} had no pid`];
  process.kill(victim, "SIGKILL");
  if (name === "orchestrator") {
    const back = await servingAgain(target.mesh.address, target.recoverTimeoutMs).catch(() => 0);
    return [back > 0, `pid ${victim}`];
  }
  const restarted = await until(() => {
    const pid = target.mesh.pids()[name];
    return pid !== undefined && pid !== victim;
  }, target.recoverTimeoutMs);
  return [restarted, `pid ${victim}`];
}

async function hitAgent(target: ChaosTarget, signal: "SIGKILL" | "SIGSTOP"): Promise<[boolean, string]> {
  const pids = agentPids(target.mesh);
  const victim = pids[Math.floor(target.random() * pids.length)];
  if (victim === undefined) return [false, "no agent process"];
  const name = serviceOf(victim);
  process.kill(victim, signal);
  if (signal === "SIGSTOP") {
    await sleep(target.stopMs);
    if (alive(victim)) process.kill(victim, "SIGCONT");
  }
  // Back when the victim's pool has noticed (or the process is gone) and is whole again.
  await until(() => !alive(victim), signal === "SIGKILL" ? 5000 : 0);
  const whole = await until(
    async () => agentPids(target.mesh).length >= pids.length && (await poolsWhole(target)),
    target.recoverTimeoutMs,
  );
  const fate = alive(victim) ? "resumed" : "replaced";
  return [whole, `${name} pid ${victim} ${fate}`];
}

async function bounceRedis(target: ChaosTarget): Promise<[boolean, string]> {
  await target.redis.stop();
  await sleep(target.redisDownMs);
  await target.redis.restart();
  const healthy = await until(async () => {
    const { components } = await status(target.chat);
    return components.find((c) => c.name === "cache")?.healthy === true;
  }, target.recoverTimeoutMs);
  return [healthy, `down ${target.redisDownMs} ms`];
}

/** Injects one fault and waits (bounded) until the service is back; never throws. */
export async function injectFault(target: ChaosTarget, kind: FaultKind): Promise<FaultWindow> {
  const start = Date.now();
  let outcome: [boolean, string];
  try {
    if (kind === "kill-history") outcome = await killService(target, "history");
    else if (kind === "kill-llm-sim") outcome = await killService(target, "llm-sim");
    else if (kind === "kill-orchestrator") outcome = await killService(target, "orchestrator");
    else if (kind === "kill-agent") outcome = await hitAgent(target, "SIGKILL");
    else if (kind === "stop-agent") outcome = await hitAgent(target, "SIGSTOP");
    else outcome = await bounceRedis(target);
  } catch (err) {
    outcome = [false, (err as Error).message];
  }
  const [recovered, detail] = outcome;
  return { kind, start, end: Date.now(), detail, recovered };
}

/** The next fault kinds: each kind once in a random order, again and again (a shuffled bag). */
export function faultBag(random: () => number): () => FaultKind {
  let bag: FaultKind[] = [];
  return () => {
    if (bag.length === 0) {
      bag = [...FAULT_KINDS];
      for (let i = bag.length - 1; i > 0; i -= 1) {
        const j = Math.floor(random() * (i + 1));
        [bag[i], bag[j]] = [bag[j] as FaultKind, bag[i] as FaultKind];
      }
    }
    return bag.pop() as FaultKind;
  };
}

/** A seeded PRNG (mulberry32), so a run's fault sequence is reproducible. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
