import type { BlockEvent, BlockState } from "../providers/block-event.js";
import type { PoolNotice, Provider, ProviderRoom } from "../providers/provider.js";

/** A Provider for tests: blocks are ids that a test moves between states by hand. */
export class FakeProvider implements Provider {
  readonly name = "fake";
  /** Every block launched, in order. */
  readonly launched: string[] = [];
  /** Every block cancelled, in order. */
  readonly cancelled: string[] = [];
  /** Every direct resize, as [pool, blocks]. */
  readonly resized: Array<[string, number]> = [];
  private readonly noticeListeners: Array<(notice: PoolNotice) => void> = [];
  private readonly pools = new Map<string, string>();
  private readonly states = new Map<string, BlockState>();
  private readonly listeners: Array<(event: BlockEvent) => void> = [];
  private sequence = 0;
  /** Set to limit the blocks strategies may grow to across pools, as the local provider does. */
  maxBlocks: number | undefined;

  onEvent(listener: (event: BlockEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(blockId: string, state: BlockState, address?: string): void {
    const pool = this.pools.get(blockId) ?? "";
    this.states.set(blockId, state);
    for (const listener of this.listeners) listener({ blockId, pool, state, address });
  }

  launch(pool: string, count: number): string[] {
    const ids = Array.from({ length: count }, () => `${pool}-${++this.sequence}`);
    for (const id of ids) {
      this.pools.set(id, pool);
      this.launched.push(id);
      this.emit(id, "PENDING");
    }
    return ids;
  }

  /** Reports the given blocks (default: every pending one) RUNNING. */
  run(ids: readonly string[] = this.launched): void {
    for (const id of ids) {
      if (this.states.get(id) === "PENDING")
        this.emit(id, "RUNNING", `127.0.0.1:${10_000 + this.launched.indexOf(id)}`);
    }
  }

  /** Reports a block FAILED, as when its process dies. */
  fail(id: string): void {
    this.emit(id, "FAILED");
  }

  async cancel(blockIds: readonly string[]): Promise<void> {
    for (const id of blockIds) {
      this.cancelled.push(id);
      this.emit(id, "CANCELLED");
    }
  }

  onNotice(listener: (notice: PoolNotice) => void): void {
    this.noticeListeners.push(listener);
  }

  /** Reports a change made outside Chorus, as the Kubernetes provider does. */
  notify(notice: PoolNotice): void {
    for (const listener of this.noticeListeners) listener(notice);
  }

  resize(pool: string, blocks: number): void {
    this.resized.push([pool, blocks]);
  }

  /** Room under maxBlocks (unlimited while unset) for blocks that have not ended. */
  room(): ProviderRoom {
    const live = [...this.states.values()].filter((state) => state === "PENDING" || state === "RUNNING");
    const max = this.maxBlocks ?? Number.POSITIVE_INFINITY;
    return { blocks: Math.max(0, max - live.length), limit: `at most ${max} blocks (test limit)` };
  }

  async close(): Promise<void> {}
}
