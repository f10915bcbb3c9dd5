import { setTimeout as delay, setImmediate as nextTurn } from "node:timers/promises";
import type { AppendItem, AppendResult, Store } from "./store.js";

/** history.group_commit as the config gives it. */
export interface GroupCommitSettings {
  /** Most appends one transaction commits. */
  readonly max_batch: number;
  /** How long a transaction waits for more appends before it starts (0: not at all). */
  readonly max_wait_ms: number;
}

interface Waiting {
  readonly item: AppendItem;
  resolve(result: AppendResult | undefined): void;
  reject(err: unknown): void;
}

/**
 * Group commit: appends that arrive while a transaction commits queue up and go into the next ONE
 * transaction (at most max_batch of them). Each append settles only once its own transaction has
 * committed, with its own outcome: a failed item fails alone.
 */
export class GroupCommit {
  private queue: Waiting[] = [];
  private running = false;

  constructor(
    private readonly store: Pick<Store, "appendTurns">,
    private readonly settings: GroupCommitSettings,
  ) {}

  /** Stores one turn (as Store.appendTurn answers) in the next transaction. */
  append(item: AppendItem): Promise<AppendResult | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.running) return;
      this.running = true;
      void this.commitAll();
    });
  }

  private async commitAll(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        // Let the appends that arrived meanwhile be read first (SQLite commits synchronously, so
        // whatever came in during the last commit is still in the sockets' buffers), for as long
        // as each turn of the event loop brings more: grpc-js hands a stream's messages over one
        // or two per turn. An idle service commits after one turn.
        for (let seen = -1; this.queue.length !== seen && this.queue.length < this.settings.max_batch; ) {
          seen = this.queue.length;
          await nextTurn();
        }
        if (this.settings.max_wait_ms > 0 && this.queue.length < this.settings.max_batch)
          await delay(this.settings.max_wait_ms);
        const batch = this.queue.splice(0, this.settings.max_batch);
        await this.commit(batch);
      }
    } finally {
      this.running = false;
    }
  }

  private async commit(batch: Waiting[]): Promise<void> {
    try {
      const outcomes = await this.store.appendTurns(batch.map((w) => w.item));
      for (const [index, waiting] of batch.entries()) {
        const outcome = outcomes[index];
        if (!outcome) waiting.reject(new Error("the store returned no outcome for an append"));
        else if (outcome.ok) waiting.resolve(outcome.result);
        else waiting.reject(outcome.error);
      }
    } catch (err) {
      // The transaction itself failed: nothing of the batch is stored.
      for (const waiting of batch) waiting.reject(err);
    }
  }
}
