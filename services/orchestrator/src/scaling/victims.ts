import { type PoolBlock, TERMINAL_BLOCK_STATES } from "./pool-state.js";

/** A scale-in candidate with the idle time and task count HTEX attributes to it. */
export interface Candidate {
  readonly id: string;
  readonly idleSeconds: number;
  readonly tasks: number;
}

/**
 * Lists scale-in candidates as HTEX does: every non-terminal block, then terminal blocks whose
 * worker is still connected; an unregistered block counts as idle forever with no tasks.
 */
export function htexCandidates(blocks: readonly PoolBlock[]): Candidate[] {
  const live = blocks.filter((block) => !TERMINAL_BLOCK_STATES.has(block.state));
  const lingering = blocks.filter((block) => TERMINAL_BLOCK_STATES.has(block.state) && block.registered);
  return [...live, ...lingering].map((block) =>
    block.registered
      ? { id: block.id, idleSeconds: block.idleSeconds, tasks: block.tasksInFlight }
      : { id: block.id, idleSeconds: Number.POSITIVE_INFINITY, tasks: 0 },
  );
}

/** Sorts candidates longest idle first, then fewest tasks first, keeping the given order on ties. */
export function rankCandidates(candidates: readonly Candidate[]): Candidate[] {
  return [...candidates].sort((a, b) => {
    // Subtraction would give NaN for two infinite idle times.
    if (a.idleSeconds !== b.idleSeconds) return a.idleSeconds > b.idleSeconds ? -1 : 1;
    return a.tasks - b.tasks;
  });
}

/**
 * Picks victims exactly as HTEX's scale_in: without `maxIdletime` the first `count` ranked blocks,
 * busy or not; with it only blocks idle longer than it and with no tasks. A count of 0 never
 * matches after the first pick, so then every eligible block is taken, as in Parsl.
 */
export function htexVictims(
  blocks: readonly PoolBlock[],
  count: number,
  maxIdletime: number | null,
): string[] {
  const ranked = rankCandidates(htexCandidates(blocks));
  if (maxIdletime === null) return ranked.slice(0, Math.max(0, count)).map((candidate) => candidate.id);
  const victims: string[] = [];
  for (const candidate of ranked) {
    if (candidate.idleSeconds > maxIdletime && candidate.tasks === 0) {
      victims.push(candidate.id);
      if (victims.length === count) break;
    }
  }
  return victims;
}

/**
 * Picks at most `count` victims for the chorus strategy: only live, registered blocks with no task
 * in flight that have been idle longer than `maxIdletime`, longest idle first.
 */
export function chorusVictims(blocks: readonly PoolBlock[], count: number, maxIdletime: number): string[] {
  const eligible = blocks
    .filter((block) => !TERMINAL_BLOCK_STATES.has(block.state) && block.registered)
    .filter((block) => block.tasksInFlight === 0 && block.idleSeconds > maxIdletime)
    .map((block) => ({ id: block.id, idleSeconds: block.idleSeconds, tasks: block.tasksInFlight }));
  return rankCandidates(eligible)
    .slice(0, Math.max(0, count))
    .map((candidate) => candidate.id);
}
