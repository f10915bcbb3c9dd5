import { status } from "@grpc/grpc-js";
import type { AgentTaskResult } from "../executor/agent-task.js";

/** Starts the shared generation: on `signal` (aborted once nobody waits), streaming into `onDelta` if set. */
export type StartGeneration = (
  signal: AbortSignal,
  onDelta: ((text: string) => void) | undefined,
) => Promise<AgentTaskResult>;

/** One generation that every identical request in flight waits for. */
interface Flight {
  readonly controller: AbortController;
  readonly listeners: Set<(text: string) => void>;
  result?: Promise<AgentTaskResult>;
  waiters: number;
  /** The text streamed so far, for a request that joins mid-stream. */
  text: string;
}

/** How a request that leaves (its signal aborted) ends: as a task stopped by its caller. */
const left = (): AgentTaskResult => ({
  ok: false,
  text: "",
  error: "cancelled",
  code: status.CANCELLED,
  attempts: 0,
  replica: "",
  promptTokens: 0,
  completionTokens: 0,
});

/**
 * The agent generations in flight in this orchestrator, by cache key: the first request for a key
 * starts one and every identical request that comes while it runs joins it, so one generation
 * answers them all (no stampede on a popular question). It streams when its first request does; a
 * request that joins gets the text so far, then the rest. A request that leaves (its turn settled
 * or was cancelled) stops waiting at once, and the generation is stopped only once none waits.
 * The key stays taken until `afterwards` (storing the answer in the cache) is done, so a request
 * arriving meanwhile joins rather than missing the cache.
 */
export class InFlightAnswers {
  private readonly flights = new Map<string, Flight>();

  /** Generations running now. */
  get size(): number {
    return this.flights.size;
  }

  /**
   * The result of the generation for `key` (`joined`: another request started it), started with
   * `start` when none runs; `afterwards` runs once with a successful result before the key is freed.
   */
  async run(
    key: string,
    signal: AbortSignal,
    onDelta: ((text: string) => void) | undefined,
    start: StartGeneration,
    afterwards: (result: AgentTaskResult) => Promise<void>,
  ): Promise<{ result: AgentTaskResult; joined: boolean }> {
    if (signal.aborted) return { result: left(), joined: false };
    let flight = this.flights.get(key);
    const joined = flight !== undefined;
    if (!flight) flight = this.begin(key, onDelta !== undefined, start, afterwards);
    return { result: await this.wait(key, flight, signal, onDelta), joined };
  }

  private begin(
    key: string,
    streams: boolean,
    start: StartGeneration,
    afterwards: (result: AgentTaskResult) => Promise<void>,
  ): Flight {
    const flight: Flight = { controller: new AbortController(), listeners: new Set(), waiters: 0, text: "" };
    this.flights.set(key, flight);
    const delta = (text: string) => {
      flight.text += text;
      for (const listener of flight.listeners) listener(text);
    };
    const result = start(flight.controller.signal, streams ? delta : undefined);
    flight.result = result;
    const free = () => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    };
    result
      .then((done) => (done.ok ? afterwards(done) : undefined))
      .catch(() => {})
      .finally(free);
    return flight;
  }

  private wait(
    key: string,
    flight: Flight,
    signal: AbortSignal,
    onDelta: ((text: string) => void) | undefined,
  ): Promise<AgentTaskResult> {
    flight.waiters += 1;
    let received = false;
    const listener = (text: string) => {
      received = true;
      onDelta?.(text);
    };
    if (onDelta) {
      if (flight.text !== "") listener(flight.text);
      flight.listeners.add(listener);
    }
    return new Promise<AgentTaskResult>((resolve, reject) => {
      const done = () => {
        signal.removeEventListener("abort", leave);
        flight.listeners.delete(listener);
        flight.waiters -= 1;
      };
      const leave = () => {
        done();
        if (flight.waiters === 0) {
          flight.controller.abort(signal.reason);
          if (this.flights.get(key) === flight) this.flights.delete(key);
        }
        resolve(left());
      };
      signal.addEventListener("abort", leave, { once: true });
      (flight.result as Promise<AgentTaskResult>).then(
        (result) => {
          if (signal.aborted) return;
          done();
          // A generation that did not stream reaches a streaming waiter as one piece.
          if (result.ok && onDelta && !received) onDelta(result.text);
          resolve(result);
        },
        (err: unknown) => {
          if (signal.aborted) return;
          done();
          reject(err);
        },
      );
    });
  }
}
