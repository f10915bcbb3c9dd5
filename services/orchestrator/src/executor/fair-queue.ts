interface Entry<T> {
  readonly item: T;
  /** Arrival order across the whole queue: the highest is the newest. */
  readonly seq: number;
}

/**
 * A bounded queue shared fairly by clients: each client's items stay in arrival order, and clients
 * take turns one item at a time (round-robin). A client that had nothing waiting goes ahead of the
 * clients that keep a backlog (FQ-CoDel's new-flow list, RFC 8290), so one Chat is not queued
 * behind every other client's batch. When full, the newest item of the client with the most waiting
 * is shed, so a busy client loses its own newest work before anyone else's.
 */
export class FairQueue<T> {
  private readonly waiting = new Map<string, Entry<T>[]>();
  /** Clients that had nothing waiting when their first item came; served before `backlogged`. */
  private fresh: string[] = [];
  /** Clients served at least once while items were waiting, in round-robin order. */
  private backlogged: string[] = [];
  private count = 0;
  private arrivals = 0;

  constructor(readonly limit: number) {}

  /** Items waiting, across every client. */
  get size(): number {
    return this.count;
  }

  /** Items `client` has waiting. */
  sizeOf(client: string): number {
    return this.waiting.get(client)?.length ?? 0;
  }

  /**
   * Queues `item` for `client`. When the queue is full, sheds the newest item of the client with the
   * most waiting — `item` itself when its own client has as many as anyone — and returns what was shed.
   */
  push(client: string, item: T): T | undefined {
    let shed: T | undefined;
    if (this.count >= this.limit) {
      const victim = this.busiest();
      if (victim === undefined || this.sizeOf(client) >= this.sizeOf(victim)) return item;
      shed = this.popNewest(victim);
    }
    let entries = this.waiting.get(client);
    if (!entries) {
      entries = [];
      this.waiting.set(client, entries);
      this.fresh.push(client);
    }
    entries.push({ item, seq: this.arrivals++ });
    this.count += 1;
    return shed;
  }

  /** Removes and returns the next item in fair order that `accept` takes (by default, any). */
  shift(accept: (item: T) => boolean = () => true): T | undefined {
    for (const list of [this.fresh, this.backlogged]) {
      for (const client of list) {
        const entries = this.waiting.get(client) ?? [];
        const index = entries.findIndex((entry) => accept(entry.item));
        const entry = entries[index];
        if (!entry) continue;
        entries.splice(index, 1);
        this.count -= 1;
        this.unlist(client);
        // Served once: back of the round-robin if it still has items waiting.
        if (entries.length > 0) this.backlogged.push(client);
        else this.waiting.delete(client);
        return entry.item;
      }
    }
    return undefined;
  }

  /** Removes `item` of `client` (its caller gave up); false when it is not waiting. */
  remove(client: string, item: T): boolean {
    const entries = this.waiting.get(client);
    const index = entries?.findIndex((entry) => entry.item === item) ?? -1;
    if (!entries || index < 0) return false;
    entries.splice(index, 1);
    this.count -= 1;
    if (entries.length === 0) this.forget(client);
    return true;
  }

  /** Empties the queue, returning every item in it. */
  clear(): T[] {
    const items = [...this.waiting.values()].flat().map((entry) => entry.item);
    this.waiting.clear();
    this.fresh = [];
    this.backlogged = [];
    this.count = 0;
    return items;
  }

  // The client with the most items waiting; among equals, the one whose newest item is newest.
  private busiest(): string | undefined {
    let best: string | undefined;
    let bestSize = 0;
    let bestSeq = -1;
    for (const [client, entries] of this.waiting) {
      const newest = entries.at(-1)?.seq ?? -1;
      if (entries.length > bestSize || (entries.length === bestSize && newest > bestSeq)) {
        best = client;
        bestSize = entries.length;
        bestSeq = newest;
      }
    }
    return best;
  }

  private popNewest(client: string): T | undefined {
    const entries = this.waiting.get(client);
    const entry = entries?.pop();
    if (!entries || !entry) return undefined;
    this.count -= 1;
    if (entries.length === 0) this.forget(client);
    return entry.item;
  }

  private forget(client: string): void {
    this.waiting.delete(client);
    this.unlist(client);
  }

  private unlist(client: string): void {
    this.fresh = this.fresh.filter((c) => c !== client);
    this.backlogged = this.backlogged.filter((c) => c !== client);
  }
}
