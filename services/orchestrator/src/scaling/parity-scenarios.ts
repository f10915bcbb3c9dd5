import type { StrategyMemory } from "./decision.js";
import type { PoolBlock, PoolBlockState, PoolState } from "./pool-state.js";
import type { ScalingSettings } from "./settings.js";

/** Test support: one pool's settings, starting memory and successive polls, fed to us and to Parsl. */
export interface ParityScenario {
  readonly settings: Omit<ScalingSettings, "strategy">;
  readonly memory: StrategyMemory;
  /** The id Parsl's block counter hands to the next launched block. */
  readonly nextBlockId: number;
  readonly polls: readonly { readonly now: number; readonly state: PoolState }[];
}

/** Test support: a seeded PRNG (mulberry32) returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const OTHER_STATES: PoolBlockState[] = [
  "UNKNOWN",
  "HELD",
  "CANCELLED",
  "COMPLETED",
  "FAILED",
  "TIMEOUT",
  "MISSING",
  "SCALED_IN",
];

/** Test support: a random scenario covering bounds, parallelism edges, idle timers and block mixes. */
export function randomScenario(random: () => number): ParityScenario {
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const min_blocks = pick([0, 0, 0, 1, 2, int(0, 5)]);
  const max_blocks = min_blocks + pick([0, 1, 2, int(0, 10)]);
  const settings = {
    init_blocks: pick([0, 1, min_blocks, max_blocks, int(0, max_blocks + 2)]),
    min_blocks,
    max_blocks,
    parallelism: pick([0, 1, 1, 0.5, 0.25, 1 / 3, 0.1, random()]),
    workers_per_block: pick([1, 1, 2, 3, 4, 8]),
    max_idletime: pick([0, 1, 30, 120, 120, random() * 200]),
    strategy_period: 5,
  };
  let now = pick([0, 1000, 1000 + int(0, 1000), 1e9 + random() * 1e6]);
  const idleSince = random() < 0.4 ? null : pick([0, now, now - settings.max_idletime, now - random() * 300]);
  const memory = { firstPoll: random() < 0.3, idleSince };
  const polls = [];
  for (let count = random() < 0.6 ? 1 : int(2, 6); polls.length < count; ) {
    polls.push({ now, state: randomPoolState(random, settings) });
    now += pick([0, 5, settings.max_idletime, settings.max_idletime + 5, random() * 200]);
  }
  return { settings, memory, nextBlockId: 100, polls };
}

function randomPoolState(random: () => number, settings: Omit<ScalingSettings, "strategy">): PoolState {
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const blocks: PoolBlock[] = [];
  for (let i = 0, n = pick([0, 1, 2, 3, int(0, 12)]); i < n; i++) {
    const roll = random();
    const state: PoolBlockState = roll < 0.55 ? "RUNNING" : roll < 0.75 ? "PENDING" : pick(OTHER_STATES);
    const registered = random() < (state === "RUNNING" ? 0.8 : 0.2);
    const tasksInFlight = random() < 0.6 ? 0 : int(1, settings.workers_per_block + 1);
    const idleSeconds = pick([0, 10, settings.max_idletime, settings.max_idletime + 1, random() * 300]);
    blocks.push({ id: String(i), state, registered, tasksInFlight, idleSeconds });
  }
  const tasks = pick([0, 0, 1, 2, int(0, 5), int(0, 40)]);
  return { tasks, blocks, badState: random() < 0.03 };
}
