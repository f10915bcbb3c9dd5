import type { AgentConfig } from "@chorus/config";
import { AgentService } from "@chorus/proto";
import { type ClientTransport, createClient, RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { type BlockEvent, TERMINAL_STATES } from "../providers/block-event.js";
import type { Block } from "./block.js";

/** Load that other orchestrators route to a pool: their outstanding tasks and the blocks they use. */
export interface RemoteLoad {
  readonly tasks: number;
  readonly busy: ReadonlySet<string>;
}

const NO_REMOTE_LOAD: RemoteLoad = { tasks: 0, busy: new Set() };

interface Waiter {
  readonly exclude: ReadonlySet<string>;
  readonly resolve: (block: Block) => void;
  readonly reject: (err: Error) => void;
}

/** One agent pool: its blocks and its bounded task queue, with least-loaded dispatch. */
export class Pool {
  readonly blocks = new Map<string, Block>();
  private readonly waiters: Waiter[] = [];
  private readonly changeListeners: Array<() => void> = [];
  private remoteLoad: RemoteLoad = NO_REMOTE_LOAD;

  constructor(
    readonly agent: AgentConfig,
    private readonly queueLimit: number,
    /** mTLS to the pool's replicas (absent: plaintext, mesh.mode off). */
    private readonly transport?: ClientTransport | undefined,
  ) {}

  get name(): string {
    return this.agent.name;
  }

  /** Tasks waiting for a worker slot. */
  get queued(): number {
    return this.waiters.length;
  }

  /** Tasks running on blocks. */
  get running(): number {
    let total = 0;
    for (const block of this.blocks.values()) total += block.inFlight;
    return total;
  }

  /** Parsl's outstanding tasks: queued plus running. */
  get outstanding(): number {
    return this.queued + this.running;
  }

  /** What other orchestrators route to this pool (none unless a provider shares load). */
  get remote(): RemoteLoad {
    return this.remoteLoad;
  }

  /** Records other orchestrators' load; the scaler sees it like its own. */
  setRemote(load: RemoteLoad): void {
    this.remoteLoad = load;
    this.changed();
  }

  /** Worker slots of blocks that can take tasks (RUNNING). */
  get readySlots(): number {
    let slots = 0;
    for (const block of this.blocks.values()) if (block.state === "RUNNING") slots += block.workers;
    return slots;
  }

  /** Blocks that are not terminal, by state. */
  countByState(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const block of this.blocks.values()) counts[block.state] = (counts[block.state] ?? 0) + 1;
    return counts;
  }

  /** Calls `listener` whenever blocks or load change. */
  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  private changed(): void {
    for (const listener of this.changeListeners) listener();
  }

  /** Applies a provider's block event. */
  apply(event: BlockEvent): void {
    let block = this.blocks.get(event.blockId);
    if (TERMINAL_STATES.has(event.state)) {
      if (block) {
        block.state = event.state;
        block.client?.close();
        this.blocks.delete(event.blockId);
      }
      this.changed();
      return;
    }
    if (!block) {
      block = {
        id: event.blockId,
        pool: this.name,
        state: event.state,
        address: "",
        workers: this.agent.workers,
        inFlight: 0,
        served: 0,
        idleSince: Date.now(),
        client: undefined,
      };
      this.blocks.set(block.id, block);
    }
    // A draining block only ever ends: a provider's later PENDING or RUNNING must not put it back.
    if (block.state === "DRAINING" && event.state !== "DRAINING") return;
    block.state = event.state;
    if (event.address && event.address !== block.address) {
      block.client?.close();
      block.address = event.address;
      block.client = createClient(AgentService, event.address, {}, this.transport);
    }
    this.changed();
    this.pump();
  }

  /** Marks a block DRAINING: it finishes its tasks but receives no new ones. */
  drain(blockId: string): void {
    const block = this.blocks.get(blockId);
    if (block && !TERMINAL_STATES.has(block.state)) block.state = "DRAINING";
    this.changed();
  }

  private pick(exclude: ReadonlySet<string>): Block | undefined {
    let best: Block | undefined;
    let fallback: Block | undefined;
    for (const block of this.blocks.values()) {
      if (block.state !== "RUNNING" || !block.client || block.inFlight >= block.workers) continue;
      if (exclude.has(block.id)) {
        if (!fallback || block.inFlight < fallback.inFlight) fallback = block;
        continue;
      }
      if (!best || block.inFlight < best.inFlight) best = block;
    }
    if (best) return best;
    // A retry may go back to a block that failed once only when no other block could ever serve it
    // (a DRAINING block never will).
    const others = [...this.blocks.values()].some(
      (b) => !exclude.has(b.id) && (b.state === "RUNNING" || b.state === "PENDING"),
    );
    return others ? undefined : fallback;
  }

  private take(block: Block): Block {
    block.inFlight += 1;
    block.idleSince = Date.now();
    return block;
  }

  /** Waits for a free worker slot and claims it; RESOURCE_EXHAUSTED when the queue is full. */
  acquire(signal: AbortSignal, exclude: ReadonlySet<string> = new Set()): Promise<Block> {
    if (signal.aborted) return Promise.reject(signal.reason ?? new Error("aborted"));
    const block = this.waiters.length === 0 ? this.pick(exclude) : undefined;
    if (block) {
      this.take(block);
      this.changed();
      return Promise.resolve(block);
    }
    if (this.waiters.length >= this.queueLimit) {
      return Promise.reject(
        new RpcError(
          status.RESOURCE_EXHAUSTED,
          `agent pool "${this.name}" has ${this.waiters.length} tasks queued (orchestrator.queue_limit)`,
        ),
      );
    }
    return new Promise<Block>((resolve, reject) => {
      const waiter: Waiter = {
        exclude,
        resolve: (chosen) => {
          signal.removeEventListener("abort", onAbort);
          resolve(chosen);
        },
        reject,
      };
      const onAbort = () => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(signal.reason ?? new Error("aborted"));
        this.changed();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
      this.changed();
    });
  }

  /** Returns a claimed slot and hands it to the next waiter. */
  release(block: Block): void {
    block.inFlight = Math.max(0, block.inFlight - 1);
    block.served += 1;
    if (block.inFlight === 0) block.idleSince = Date.now();
    this.pump();
    this.changed();
  }

  private pump(): void {
    for (let i = 0; i < this.waiters.length; ) {
      const waiter = this.waiters[i];
      if (!waiter) break;
      const block = this.pick(waiter.exclude);
      if (!block) {
        i += 1;
        continue;
      }
      this.waiters.splice(i, 1);
      waiter.resolve(this.take(block));
    }
  }

  /** Rejects every queued task, for shutdown. */
  rejectAll(reason: Error): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(reason);
  }
}
