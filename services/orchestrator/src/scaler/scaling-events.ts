import type { StrategyName } from "../scaling/index.js";

/** Why a pool's block count changed. */
export type ScalingReason =
  | "init"
  | "scale_out"
  | "scale_in"
  | "admission"
  | "min_restore"
  | "replace_failed"
  | "block_failed"
  | "manual"
  /** The strategy wanted blocks that the provider's limit on the host did not let it launch. */
  | "host_limit";

/** One change of a pool's blocks, as WatchScaling reports it. */
export interface ScalingEvent {
  /** Milliseconds since the Unix epoch. */
  readonly timeMs: number;
  readonly pool: string;
  /** RUNNING plus PENDING blocks before and after the change. */
  readonly blocksBefore: number;
  readonly blocksAfter: number;
  readonly reason: ScalingReason;
  /** Outstanding tasks (queued plus running) when it happened. */
  readonly tasks: number;
  /** Worker slots of RUNNING and PENDING blocks when it happened, as the strategy counts them. */
  readonly slots: number;
  readonly strategy: StrategyName;
  /** The strategy's or the operator's explanation. */
  readonly detail: string;
  /** Blocks launched, or blocks drained and stopped. */
  readonly blockIds: readonly string[];
}

/** A listener of live scaling events. */
export type ScalingListener = (event: ScalingEvent) => void;

/** The recent scaling events of every pool (a bounded ring) and their live subscribers. */
export class ScalingEvents {
  private readonly ring: ScalingEvent[] = [];
  private readonly listeners = new Set<ScalingListener>();
  private readonly closeListeners = new Set<() => void>();

  constructor(private readonly capacity = 256) {}

  /** Records an event and hands it to every subscriber. */
  publish(event: ScalingEvent): void {
    this.ring.push(event);
    if (this.ring.length > this.capacity) this.ring.splice(0, this.ring.length - this.capacity);
    for (const listener of this.listeners) listener(event);
  }

  /**
   * Records an event another orchestrator decided (it arrives late), in time order, and hands it to
   * every subscriber; one older than every event a full ring keeps is dropped.
   */
  insert(event: ScalingEvent): void {
    let at = this.ring.length;
    while (at > 0 && (this.ring[at - 1]?.timeMs ?? 0) > event.timeMs) at -= 1;
    if (at === 0 && this.ring.length >= this.capacity) return;
    this.ring.splice(at, 0, event);
    if (this.ring.length > this.capacity) this.ring.splice(0, this.ring.length - this.capacity);
    for (const listener of this.listeners) listener(event);
  }

  /** The recorded events, oldest first. */
  recent(): readonly ScalingEvent[] {
    return [...this.ring];
  }

  /** Calls `listener` with every later event and `onClose` at close; returns the unsubscribe function. */
  subscribe(listener: ScalingListener, onClose: () => void = () => {}): () => void {
    this.listeners.add(listener);
    this.closeListeners.add(onClose);
    return () => {
      this.listeners.delete(listener);
      this.closeListeners.delete(onClose);
    };
  }

  /** Ends every subscription, for shutdown. */
  close(): void {
    const closers = [...this.closeListeners];
    this.listeners.clear();
    this.closeListeners.clear();
    for (const onClose of closers) onClose();
  }
}
