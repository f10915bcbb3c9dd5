import type { AgentConfig } from "@chorus/config";
import { AgentService } from "@chorus/proto";
import { type ClientTransport, createClient, type Logger } from "@chorus/shared";
import { type BlockEvent, TERMINAL_STATES } from "../providers/block-event.js";
import type { Block } from "./block.js";
import { FairQueue } from "./fair-queue.js";
import { ModelHealth } from "./model-health.js";
import { OverloadedError } from "./overloaded.js";
import { expectedCost, newReplicaSpeed } from "./replica-speed.js";
import { type ChannelSettings, TaskChannel } from "./task-channel.js";
import { TaskLatency } from "./task-latency.js";

/** How a pool reaches its replicas: a task channel to each, over mTLS when `transport` says so. */
export interface PoolChannels extends ChannelSettings {
  /** mTLS to the pool's replicas (absent: plaintext, mesh.mode off). */
  readonly transport?: ClientTransport | undefined;
  readonly log: Logger;
}

/** Load that other orchestrators route to a pool: their outstanding tasks and the blocks they use. */
export interface RemoteLoad {
  readonly tasks: number;
  readonly busy: ReadonlySet<string>;
}

const NO_REMOTE_LOAD: RemoteLoad = { tasks: 0, busy: new Set() };

interface Waiter {
  readonly client: string;
  readonly exclude: ReadonlySet<string>;
  readonly resolve: (block: Block) => void;
  readonly reject: (err: Error) => void;
}

/**
 * One agent pool: its blocks and its bounded, fair task queue, with dispatch to the replica whose
 * expected wait is least (its recent task duration times the tasks it holds: peak-EWMA). A task
 * goes to a replica only into one of its credits (a free worker slot it reported on its channel),
 * so tasks wait here, where the strategy sees them, and never in a replica.
 */
export class Pool {
  readonly blocks = new Map<string, Block>();
  /** Recent task durations, whose p95 is when a task is hedged. */
  readonly latency = new TaskLatency();
  /** Hedges sent (a task's second copy on another replica), and those that answered first. */
  readonly hedges = { sent: 0, won: 0 };
  private readonly waiters: FairQueue<Waiter>;
  private readonly changeListeners: Array<() => void> = [];
  private readonly lostListeners: Array<(blockId: string, reason: string) => void> = [];
  private remoteLoad: RemoteLoad = NO_REMOTE_LOAD;
  /** What the pool's tasks learned about the model endpoint; the strategies add no blocks while it fails. */
  readonly model = new ModelHealth(() => this.changed());

  constructor(
    readonly agent: AgentConfig,
    queueLimit: number,
    /** Task channels to the replicas; absent, blocks are dispatched by their slots alone and run nothing. */
    private readonly channels?: PoolChannels | undefined,
  ) {
    this.waiters = new FairQueue(queueLimit);
  }

  get name(): string {
    return this.agent.name;
  }

  /** Tasks waiting for a worker slot. */
  get queued(): number {
    return this.waiters.size;
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

  /** Calls `listener` when a replica stops answering on its channel; the provider should replace it. */
  onLost(listener: (blockId: string, reason: string) => void): void {
    this.lostListeners.push(listener);
  }

  /** Applies a provider's block event. */
  apply(event: BlockEvent): void {
    let block = this.blocks.get(event.blockId);
    if (TERMINAL_STATES.has(event.state)) {
      if (block) {
        block.state = event.state;
        this.blocks.delete(event.blockId);
        block.channel?.close();
        block.client?.close();
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
        speed: newReplicaSpeed(),
        served: 0,
        idleSince: Date.now(),
        client: undefined,
        channel: undefined,
      };
      this.blocks.set(block.id, block);
    }
    // A draining block only ever ends: a provider's later PENDING or RUNNING must not put it back.
    if (block.state === "DRAINING" && event.state !== "DRAINING") return;
    block.state = event.state;
    if (event.address && event.address !== block.address) {
      block.channel?.close();
      block.client?.close();
      block.address = event.address;
      block.client = createClient(AgentService, event.address, {}, this.channels?.transport);
      block.channel = this.channels ? this.openChannel(block, block.client, this.channels) : undefined;
    }
    this.changed();
    this.pump();
  }

  private openChannel(block: Block, client: NonNullable<Block["client"]>, channels: PoolChannels) {
    const channel: TaskChannel = new TaskChannel(
      client,
      channels,
      {
        credit: () => {
          if (channel.workers > 0) block.workers = channel.workers;
          if (this.waiters.size > 0) this.pump();
        },
        lost: (reason) => {
          channels.log.warn({ pool: this.name, block: block.id, reason }, "agent replica lost");
          for (const listener of this.lostListeners) listener(block.id, reason);
          this.changed();
        },
        wanted: () => this.blocks.get(block.id) === block && block.state !== "DRAINING",
      },
      channels.log,
    );
    return channel;
  }

  // A block takes a task while it has a worker slot (and, with a channel, a credit the replica gave).
  private hasRoom(block: Block): boolean {
    if (block.state !== "RUNNING" || !block.client || block.inFlight >= block.workers) return false;
    return block.channel === undefined || block.channel.credits > 0;
  }

  /** Marks a block DRAINING: it finishes its tasks but receives no new ones. */
  drain(blockId: string): void {
    const block = this.blocks.get(blockId);
    if (block && !TERMINAL_STATES.has(block.state)) block.state = "DRAINING";
    this.changed();
  }

  // The fastest replica's recent average: what a replica without (recent) samples is priced at.
  private typicalMs(): number {
    let fastest = Number.POSITIVE_INFINITY;
    for (const block of this.blocks.values()) {
      const ms = block.speed.ewmaMs;
      if (ms !== undefined && block.state === "RUNNING" && ms < fastest) fastest = ms;
    }
    return Number.isFinite(fastest) ? fastest : 1;
  }

  // A replica that missed two heartbeat echoes may be hung: it gets tasks only when every replica is
  // that quiet (then the silence is more likely this process's own stall).
  private quiet(block: Block): boolean {
    const heartbeatMs = this.channels?.heartbeatMs;
    return (
      heartbeatMs !== undefined && block.channel !== undefined && block.channel.silentMs > 2 * heartbeatMs
    );
  }

  // The block with room whose expected wait is least (fewest in flight among equals), not in
  // `exclude`; a quiet one only when no replica that can run tasks is heard from.
  private cheapest(exclude: ReadonlySet<string>, now: number, typicalMs: number): Block | undefined {
    let best: Block | undefined;
    let bestCost = Number.POSITIVE_INFINITY;
    let bestQuiet: Block | undefined;
    let heard = false;
    for (const block of this.blocks.values()) {
      const quiet = block.state === "RUNNING" && this.quiet(block);
      if (block.state === "RUNNING" && !quiet && !exclude.has(block.id)) heard = true;
      if (exclude.has(block.id) || !this.hasRoom(block)) continue;
      if (quiet) {
        if (!bestQuiet || block.inFlight < bestQuiet.inFlight) bestQuiet = block;
        continue;
      }
      const cost = expectedCost(block.speed, block.inFlight, typicalMs, now);
      if (cost < bestCost || (cost === bestCost && best && block.inFlight < best.inFlight)) {
        best = block;
        bestCost = cost;
      }
    }
    return best ?? (heard ? undefined : bestQuiet);
  }

  private pick(exclude: ReadonlySet<string>): Block | undefined {
    const best = this.cheapest(exclude, Date.now(), this.typicalMs());
    if (best) return best;
    let fallback: Block | undefined;
    for (const block of this.blocks.values()) {
      if (exclude.has(block.id) && this.hasRoom(block) && (!fallback || block.inFlight < fallback.inFlight))
        fallback = block;
    }
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
    block.channel?.claim();
    return block;
  }

  /**
   * Claims a free slot on a block not in `exclude` now, or returns undefined: never queues, and
   * never ahead of queued tasks (a hedge only uses capacity nobody waits for).
   */
  tryAcquire(exclude: ReadonlySet<string>): Block | undefined {
    if (this.waiters.size > 0) return undefined;
    const best = this.cheapest(exclude, Date.now(), this.typicalMs());
    if (!best) return undefined;
    this.take(best);
    this.changed();
    return best;
  }

  /**
   * Waits for a free worker slot and claims it. Queued tasks are served round-robin across clients;
   * when the queue is full the newest task of the client with the most queued is refused with
   * RESOURCE_EXHAUSTED (this one, or one already queued).
   */
  acquire(signal: AbortSignal, exclude: ReadonlySet<string> = new Set(), client = ""): Promise<Block> {
    if (signal.aborted) return Promise.reject(signal.reason ?? new Error("aborted"));
    const block = this.waiters.size === 0 ? this.pick(exclude) : undefined;
    if (block) {
      this.take(block);
      this.changed();
      return Promise.resolve(block);
    }
    return new Promise<Block>((resolve, reject) => {
      const waiter: Waiter = {
        client,
        exclude,
        resolve: (chosen) => {
          signal.removeEventListener("abort", onAbort);
          resolve(chosen);
        },
        reject: (err) => {
          signal.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      const onAbort = () => {
        this.waiters.remove(client, waiter);
        reject(signal.reason ?? new Error("aborted"));
        this.changed();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      const shed = this.waiters.push(client, waiter);
      shed?.reject(
        new OverloadedError(
          `agent pool "${this.name}" has ${this.waiters.size} tasks queued (orchestrator.queue_limit); ` +
            "the newest task of the client with the most queued was shed",
        ),
      );
      if (shed !== waiter) this.pump();
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

  private hasFreeSlot(): boolean {
    for (const block of this.blocks.values()) if (this.hasRoom(block)) return true;
    return false;
  }

  // Serves queued tasks in fair order while a slot is free; a retry skips blocks it failed on.
  private pump(): void {
    while (this.waiters.size > 0 && this.hasFreeSlot()) {
      let chosen: Block | undefined;
      const waiter = this.waiters.shift((candidate) => {
        chosen = this.pick(candidate.exclude);
        return chosen !== undefined;
      });
      if (!waiter || !chosen) return;
      waiter.resolve(this.take(chosen));
    }
  }

  /** Rejects every queued task, for shutdown. */
  rejectAll(reason: Error): void {
    for (const waiter of this.waiters.clear()) waiter.reject(reason);
  }
}
