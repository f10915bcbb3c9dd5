import type { GenerateResponse } from "@chorus/proto";
import type { Block } from "./block.js";
import { type ChannelTaskRequest, ReplicaLostError } from "./channel-task.js";
import type { Pool } from "./pool.js";
import { recordDuration, recordHedgeLoss } from "./replica-speed.js";

/** How one attempt of a task ended: its answer, or the error of the replica that failed last. */
export type AttemptOutcome = (
  | { readonly ok: true; readonly response: GenerateResponse }
  | { readonly ok: false; readonly error: unknown }
) & {
  /** The replica whose answer or error this is. */
  readonly block: Block;
  /** A hedge was sent: the task ran on a second replica too. */
  readonly hedged: boolean;
  /** The hedge answered first. */
  readonly hedgeWon: boolean;
};

interface Copy {
  readonly block: Block;
  /** When it was sent (performance.now()). */
  readonly started: number;
  readonly answer: Promise<GenerateResponse>;
  /** Cancels this copy alone (a hedged task's loser); absent when the task is not hedged. */
  readonly stop?: AbortController | undefined;
}

// Sends the task into the block's claimed slot; the slot goes back to the pool once the replica has
// freed it, which for a cancelled copy is after its cancellation reached the replica. A copy that
// may be hedged gets a cancellation of its own, and its duration feeds the pool's p95. Every answer's
// duration feeds its replica's speed, which dispatch weighs.
function send(pool: Pool, block: Block, request: ChannelTaskRequest, hedging: boolean): Copy {
  const channel = block.channel;
  const started = performance.now();
  if (!channel) {
    pool.release(block);
    const answer = Promise.reject(new ReplicaLostError(`replica ${block.id} has no task channel`));
    return { block, started, answer };
  }
  const timed = (answer: Promise<GenerateResponse>) => {
    answer.then(
      () => recordDuration(block.speed, performance.now() - started),
      () => {},
    );
    return answer;
  };
  if (!hedging) return { block, started, answer: timed(channel.submit(request, () => pool.release(block))) };
  const stop = new AbortController();
  const caller = request.signal;
  const onAbort = () => stop.abort(caller?.reason);
  if (caller?.aborted) onAbort();
  else caller?.addEventListener("abort", onAbort, { once: true });
  const release = () => {
    caller?.removeEventListener("abort", onAbort);
    pool.release(block);
  };
  const answer = timed(channel.submit({ ...request, signal: stop.signal }, release));
  answer.then(
    () => pool.latency.record(performance.now() - started),
    () => {},
  );
  return { block, started, answer, stop };
}

function settled(copy: Copy, hedged: boolean, hedgeWon: boolean): Promise<AttemptOutcome> {
  return copy.answer.then(
    (response) => ({ ok: true, response, block: copy.block, hedged, hedgeWon }),
    (error: unknown) => ({ ok: false, error, block: copy.block, hedged, hedgeWon }),
  );
}

/**
 * Runs one attempt of a task on `block` (its slot already claimed). With the pool's hedging on, a
 * task that runs longer than the pool's recent p95 (and at least hedge.min_delay_ms) is sent to a
 * second replica that has a free slot nobody waits for; the first answer wins and the other copy
 * is cancelled. Streaming tasks are not hedged: their text is already on its way to the caller.
 */
export function attempt(
  pool: Pool,
  block: Block,
  request: ChannelTaskRequest,
  tried: Set<string>,
): Promise<AttemptOutcome> {
  const { hedge } = pool.agent;
  const hedging = hedge.enabled && request.onDelta === undefined;
  const first = send(pool, block, request, hedging);
  const p95 = hedging ? pool.latency.p95() : undefined;
  if (p95 === undefined) return settled(first, false, false);
  const delayMs = Math.max(hedge.min_delay_ms, p95);
  return new Promise((resolve) => {
    const copies = [first];
    let running = 1;
    let done = false;
    const finish = (outcome: AttemptOutcome) => {
      done = true;
      if (outcome.hedgeWon) pool.hedges.won += 1;
      clearTimeout(timer);
      for (const copy of copies) {
        if (copy.block === outcome.block) continue;
        // A first copy that lost ran past the p95: its replica's speed learns it though it never answers.
        if (copy === first) recordHedgeLoss(copy.block.speed, performance.now() - copy.started);
        copy.stop?.abort(new Error("hedge lost"));
      }
      resolve(outcome);
    };
    const watch = (copy: Copy) => {
      void settled(copy, false, false).then((outcome) => {
        running -= 1;
        if (done) return;
        // A copy that fails while the other still runs leaves the task to the other.
        const hedged = copies.length > 1;
        if (outcome.ok || running === 0)
          finish({ ...outcome, hedged, hedgeWon: outcome.ok && copy !== first });
      });
    };
    const timer = setTimeout(() => {
      if (done || request.signal?.aborted) return;
      const other = pool.tryAcquire(new Set([...tried, block.id]));
      if (!other) return;
      tried.add(other.id);
      pool.hedges.sent += 1;
      const copy = send(pool, other, request, true);
      copies.push(copy);
      running += 1;
      watch(copy);
    }, delayMs);
    watch(first);
  });
}
