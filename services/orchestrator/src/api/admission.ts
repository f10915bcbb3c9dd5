import { RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { FairQueue } from "../executor/fair-queue.js";
import { OverloadedError } from "../executor/overloaded.js";

/** Gives an admitted turn's slot back; calling it again does nothing. */
export type Leave = () => void;

interface Waiter {
  readonly admit: () => void;
  readonly refuse: (err: Error) => void;
}

// setTimeout's longest delay; a batch's deadline can be further away than that.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Bounds the turns in flight (orchestrator.max_concurrent_turns) — Chat, ChatStream and every Batch
 * item alike. A turn past the bound waits for a slot until its deadline, in a queue of at most
 * orchestrator.admission_queue_limit turns shared fairly by clients (see FairQueue); when that is
 * full the newest turn of the client with the most waiting is refused with RESOURCE_EXHAUSTED.
 */
export class Admission {
  private inFlight = 0;
  private readonly waiting: FairQueue<Waiter>;

  constructor(
    private readonly limit: number,
    queueLimit: number,
  ) {
    this.waiting = new FairQueue(queueLimit);
  }

  /** Turns holding a slot. */
  get running(): number {
    return this.inFlight;
  }

  /** Turns waiting for a slot. */
  get queued(): number {
    return this.waiting.size;
  }

  /** Resolves with the slot's release once `client`'s turn is admitted; rejects if it is shed, cancelled or out of time. */
  enter(client: string, signal: AbortSignal, deadline: Date): Promise<Leave> {
    if (signal.aborted) return Promise.reject(cancelled());
    if (this.inFlight < this.limit && this.waiting.size === 0) return Promise.resolve(this.take());
    return new Promise<Leave>((resolve, reject) => {
      const waitStarted = Date.now();
      const giveUp = (err: Error) => {
        if (this.waiting.remove(client, waiter)) waiter.refuse(err);
      };
      const onAbort = () => giveUp(cancelled());
      const timer = setTimeout(
        () =>
          giveUp(
            new RpcError(
              status.DEADLINE_EXCEEDED,
              `no turn slot within the deadline (waited ${Date.now() - waitStarted} ms behind ` +
                `${this.inFlight} turns in flight, orchestrator.max_concurrent_turns)`,
            ),
          ),
        Math.min(MAX_TIMER_MS, Math.max(0, deadline.getTime() - waitStarted)),
      );
      const waiter: Waiter = {
        admit: () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          resolve(this.take());
        },
        refuse: (err) => {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiting
        .push(client, waiter)
        ?.refuse(
          new OverloadedError(
            `${this.inFlight} turns in flight (orchestrator.max_concurrent_turns) and ${this.waiting.size} ` +
              "waiting (orchestrator.admission_queue_limit): the newest turn of the client with the most " +
              "waiting was shed; retry later",
          ),
        );
    });
  }

  /** Runs `work` as one admitted turn of `client`, giving its slot back when it settles. */
  async run<R>(client: string, signal: AbortSignal, deadline: Date, work: () => Promise<R>): Promise<R> {
    const leave = await this.enter(client, signal, deadline);
    try {
      return await work();
    } finally {
      leave();
    }
  }

  private take(): Leave {
    this.inFlight += 1;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.inFlight -= 1;
      this.pump();
    };
  }

  private pump(): void {
    while (this.inFlight < this.limit) {
      const next = this.waiting.shift();
      if (!next) return;
      next.admit();
    }
  }
}

function cancelled(): RpcError {
  return new RpcError(status.CANCELLED, "cancelled while waiting for a turn slot");
}
