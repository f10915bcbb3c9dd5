import type { Logger } from "@chorus/shared";
import type { Pool } from "../executor/pool.js";
import type { BlockEvent } from "../providers/block-event.js";
import type { PoolNotice, Provider } from "../providers/provider.js";
import {
  type Decision,
  decide,
  htexVictims,
  initialMemory,
  onAdmission,
  type ScalingSettings,
  type StrategyMemory,
} from "../scaling/index.js";
import { withinRoom } from "./host-room.js";
import { ScaleRejected } from "./scale-rejected.js";
import { RestartGate, type RestartPolicy } from "./scaler-restarts.js";
import { activeBlocks, snapshotPool } from "./scaler-snapshot.js";
import type { ScalingEvent, ScalingEvents, ScalingReason } from "./scaling-events.js";

/** What a PoolScaler works with. */
export interface PoolScalerDeps {
  readonly provider: Provider;
  readonly events: ScalingEvents;
  readonly policy: RestartPolicy;
  readonly log: Logger;
  /** Milliseconds since the epoch; tests move it forward. */
  readonly clock: () => number;
}

/**
 * Scales one pool: a strategy poll every strategy_period, admission-time scale-out, scale-in that
 * never takes a busy block, bounded replacement of failed blocks, and block counts set by hand.
 */
export class PoolScaler {
  private memory: StrategyMemory = initialMemory();
  private readonly gate: RestartGate;
  /** Blocks asked to stop and not gone yet. */
  private readonly cancelling = new Set<string>();
  /** Blocks a `none` pool keeps: init_blocks, or the last count set by hand. */
  private target: number;
  private periodTimer: NodeJS.Timeout | undefined;
  private replaceTimer: NodeJS.Timeout | undefined;
  private changeQueued = false;
  /** True once a host_limit event told of the current shortage, so it is told once, not per task. */
  private heldBack = false;
  private closed = false;
  /** True while this scaler changes the pool; a follower only keeps its picture up to date. */
  private active = false;
  /** The config's settings, before any override from the platform. */
  private readonly base: ScalingSettings;
  /** The settings in force: the config's, or the platform's overrides over them. */
  private current: ScalingSettings;

  constructor(
    readonly pool: Pool,
    private readonly deps: PoolScalerDeps,
  ) {
    this.gate = new RestartGate(deps.policy);
    this.target = pool.agent.scaling.init_blocks;
    this.base = { ...pool.agent.scaling };
    this.current = this.base;
    pool.onChange(() => this.queueChangeCheck());
  }

  /** The scaling settings in force for this pool. */
  get settings(): ScalingSettings {
    return this.current;
  }

  /** True while this scaler changes the pool (it leads). */
  get leading(): boolean {
    return this.active && !this.closed;
  }

  /**
   * Starts changing the pool: the first poll (init_blocks, unless the pool was found already
   * sized) and the periodic loop. A pool found outside min..max is brought back within them.
   */
  start(): void {
    if (this.closed || this.active) return;
    this.active = true;
    if (!this.memory.firstPoll) this.clampFound();
    this.poll();
  }

  /** Stops changing the pool (leadership lost): no polls, launches or cancels until start. */
  pause(): void {
    this.active = false;
    clearTimeout(this.periodTimer);
    clearTimeout(this.replaceTimer);
  }

  /** One strategy poll now; the next one follows strategy_period later. */
  poll(): void {
    if (this.closed || !this.active) return;
    clearTimeout(this.periodTimer);
    this.periodTimer = setTimeout(() => this.poll(), this.settings.strategy_period * 1000);
    // During a backoff only the pending replacement may launch, so a crash loop stays slow.
    if (this.gate.waiting(this.deps.clock())) return;
    this.step(false);
  }

  private step(replacing: boolean): void {
    const nowMs = this.deps.clock();
    // `decide` asks for a second call only after the first poll's init, so two rounds suffice.
    for (let round = 0; round < 2; round += 1) {
      const first = this.memory.firstPoll;
      const state = snapshotPool(this.pool, nowMs, this.gate.exhausted(nowMs));
      const result = decide(state, this.settings, this.memory, nowMs / 1000);
      this.memory = result.memory;
      const init = first && (result.pollAgain || this.settings.strategy === "none");
      this.apply(result.decision, init ? "init" : replacing ? "replace_failed" : undefined);
      if (result.decision.kind !== "scale_out") this.heldBack = false;
      if (!result.pollAgain) break;
    }
    if (this.settings.strategy === "none") this.keepTarget(nowMs);
  }

  // Parsl's `none` never launches after init; Chorus still replaces a fixed pool's failed blocks.
  private keepTarget(nowMs: number): void {
    const missing = this.target - activeBlocks(this.pool);
    if (missing <= 0 || this.gate.waiting(nowMs) || this.gate.exhausted(nowMs)) return;
    this.launch(missing, "replace_failed", `keeping ${this.target} blocks`);
  }

  private apply(decision: Decision, reason: ScalingReason | undefined): void {
    if (decision.kind === "scale_out" && decision.blocks > 0) {
      const below = activeBlocks(this.pool) < this.settings.min_blocks;
      this.grow(decision.blocks, reason ?? (below ? "min_restore" : "scale_out"), decision.reason);
    } else if (decision.kind === "scale_in" && decision.victims.length > 0) {
      // Parsl's strategies hold and cancel at once; chorus victims are idle, so draining ends at once too.
      this.remove(decision.victims, "scale_in", decision.reason, this.settings.strategy !== "chorus");
    }
  }

  private launch(count: number, reason: ScalingReason, detail: string): ScalingEvent {
    const before = activeBlocks(this.pool);
    const ids = this.deps.provider.launch(this.pool.name, count);
    // Count the new blocks as pending capacity now, even if the provider reports them later.
    for (const blockId of ids) {
      if (!this.pool.blocks.has(blockId))
        this.pool.apply({ blockId, pool: this.pool.name, state: "PENDING" });
    }
    return this.publish(reason, before, detail, ids);
  }

  private remove(victims: readonly string[], reason: ScalingReason, detail: string, atOnce: boolean) {
    const before = activeBlocks(this.pool);
    const removed = victims.filter((id) => {
      const state = this.pool.blocks.get(id)?.state;
      return state === "RUNNING" || state === "PENDING";
    });
    for (const id of removed) this.pool.drain(id);
    if (atOnce) this.cancel(removed);
    else this.retireIdle();
    return this.publish(reason, before, detail, removed);
  }

  private cancel(ids: readonly string[]): void {
    const fresh = ids.filter((id) => !this.cancelling.has(id));
    if (fresh.length === 0) return;
    for (const id of fresh) this.cancelling.add(id);
    this.deps.provider.cancel(fresh).catch((err: unknown) => {
      this.deps.log.error({ err, pool: this.pool.name, blocks: fresh }, "cancelling blocks failed");
    });
  }

  /** Stops every DRAINING block that has finished its tasks. */
  private retireIdle(): void {
    if (!this.active) return;
    const { busy } = this.pool.remote;
    const idle = [...this.pool.blocks.values()].filter(
      (b) => b.state === "DRAINING" && b.inFlight === 0 && !busy.has(b.id),
    );
    this.cancel(idle.map((block) => block.id));
  }

  // Pool changes arrive in the middle of dispatch, so the checks run once the current work is done.
  private queueChangeCheck(): void {
    if (this.changeQueued || this.closed) return;
    this.changeQueued = true;
    queueMicrotask(() => {
      this.changeQueued = false;
      if (this.closed) return;
      for (const id of this.cancelling) if (!this.pool.blocks.has(id)) this.cancelling.delete(id);
      this.retireIdle();
      this.admit();
    });
  }

  private admit(): void {
    if (!this.active || this.settings.strategy !== "chorus" || this.memory.firstPoll) return;
    const nowMs = this.deps.clock();
    if (this.gate.waiting(nowMs)) return;
    const decision = onAdmission(snapshotPool(this.pool, nowMs, this.gate.exhausted(nowMs)), this.settings);
    if (decision.kind === "scale_out") this.grow(decision.blocks, "admission", decision.reason);
    else this.heldBack = false;
  }

  /**
   * Launches what a strategy asked for within the provider's room on the host (init_blocks and
   * min_blocks regardless); what the limit holds back is told once per shortage, as a host_limit event.
   */
  private grow(wanted: number, reason: ScalingReason, detail: string): void {
    const room = reason === "init" ? undefined : this.deps.provider.room?.();
    const floor = Math.max(0, this.settings.min_blocks - activeBlocks(this.pool));
    const grant = withinRoom(wanted, floor, room);
    if (grant.count > 0) {
      this.launch(grant.count, reason, grant.note ? `${detail}; ${grant.note}` : detail);
      this.heldBack = grant.note !== "";
    } else if (!this.heldBack) {
      this.heldBack = true;
      this.publish("host_limit", activeBlocks(this.pool), `${detail}; ${grant.note}`, []);
    }
  }

  /** Applies a provider's block event; an unexpected failure leads to a bounded, backed-off replacement. */
  onBlockEvent(event: BlockEvent): void {
    const before = activeBlocks(this.pool);
    const wasDraining = this.pool.blocks.get(event.blockId)?.state === "DRAINING";
    this.pool.apply(event);
    // A draining block was leaving anyway; its loss asks for no replacement.
    if (event.state !== "FAILED" || wasDraining || this.closed || !this.active) return;
    const nowMs = this.deps.clock();
    this.publish("block_failed", before, event.detail ?? "block failed", [event.blockId]);
    const backoff = this.gate.record(nowMs);
    if (backoff === undefined) {
      const { maxRestarts, windowMs } = this.deps.policy;
      this.deps.log.error(
        { pool: this.pool.name, block: event.blockId, maxRestarts, windowMs },
        "blocks of this pool fail too often; not replacing them until the failures age out",
      );
      return;
    }
    clearTimeout(this.replaceTimer);
    this.replaceTimer = setTimeout(() => this.replace(), Math.max(backoff, this.gate.openIn(nowMs)));
  }

  private replace(): void {
    if (this.closed || !this.active) return;
    const wait = this.gate.openIn(this.deps.clock());
    if (wait > 0) this.replaceTimer = setTimeout(() => this.replace(), wait);
    else this.step(true);
  }

  /**
   * Sets the pool to `requested` blocks by hand (raised to min_blocks); the strategy goes on from
   * there. Busy blocks are drained, never cut off.
   */
  scaleTo(requested: number): ScalingEvent {
    const { min_blocks, max_blocks } = this.settings;
    if (!Number.isInteger(requested) || requested < 0) {
      throw new ScaleRejected("out_of_range", `blocks: must be a whole number >= 0, got ${requested}`);
    }
    if (requested > max_blocks) {
      throw new ScaleRejected(
        "out_of_range",
        `blocks: ${requested} exceeds max_blocks ${max_blocks} of pool "${this.pool.name}"`,
      );
    }
    const wanted = Math.max(requested, min_blocks);
    const detail = `set by hand to ${requested}${wanted > requested ? `, raised to min_blocks ${min_blocks}` : ""}`;
    const current = activeBlocks(this.pool);
    if (!this.active && this.deps.provider.resize) {
      // A follower hands the count to the platform; the leader adopts it from there.
      this.deps.provider.resize(this.pool.name, wanted);
      return this.publish("manual", current, `${detail}; sent to the leading orchestrator`, [], wanted);
    }
    return this.moveTo(wanted, "manual", detail);
  }

  /** Launches or drains blocks until `wanted` are active; busy blocks drain, never cut off. */
  private moveTo(wanted: number, reason: ScalingReason, detail: string): ScalingEvent {
    const current = activeBlocks(this.pool);
    this.target = wanted;
    // The idle timer starts over, so blocks added by hand get a full max_idletime.
    this.memory = { ...this.memory, idleSince: null };
    if (wanted > current) return this.launch(wanted - current, reason, detail);
    // Unregistered blocks first, then the longest idle, then the least busy.
    const state = snapshotPool(this.pool, this.deps.clock());
    const victims = wanted < current ? htexVictims(state.blocks, current - wanted, null) : [];
    return this.remove(victims, reason, detail, false);
  }

  private publish(
    reason: ScalingReason,
    before: number,
    detail: string,
    blockIds: readonly string[],
    after = activeBlocks(this.pool),
  ) {
    const event: ScalingEvent = {
      timeMs: this.deps.clock(),
      pool: this.pool.name,
      blocksBefore: before,
      blocksAfter: after,
      reason,
      tasks: this.pool.outstanding + this.pool.remote.tasks,
      slots: before * this.settings.workers_per_block,
      strategy: this.settings.strategy,
      detail,
      blockIds: [...blockIds],
    };
    this.deps.log.info({ ...event }, "scaling");
    this.deps.events.publish(event);
    return event;
  }

  /** Applies what the provider saw change outside Chorus: a pool size or settings overrides. */
  onNotice(notice: PoolNotice): void {
    if (this.closed) return;
    if (notice.kind === "resized") this.adopt(notice.blocks, notice.previous, notice.first);
    else this.override(notice.overrides, notice.warnings);
  }

  /**
   * Takes a size set outside Chorus as the pool's current state: a `none` pool keeps it; other
   * strategies clamp it to min..max (and put the platform back within them) and go on from there.
   */
  private adopt(blocks: number, previous: number, first: boolean): void {
    this.memory = { firstPoll: false, idleSince: null };
    const { strategy, min_blocks, max_blocks } = this.settings;
    const wanted = strategy === "none" ? blocks : Math.min(max_blocks, Math.max(min_blocks, blocks));
    this.target = wanted;
    // At start, and on a follower, the size is only recorded; a new leader clamps it in start().
    if (first || !this.active) return;
    const how = strategy === "none" ? "strategy none follows it" : "adopted as the current state";
    const clamped =
      wanted === blocks ? "" : `, clamped to ${wanted} (min_blocks ${min_blocks}, max_blocks ${max_blocks})`;
    if (wanted !== blocks) this.deps.provider.resize?.(this.pool.name, wanted);
    this.publish("manual", previous, `scaled to ${blocks} outside Chorus: ${how}${clamped}`, [], wanted);
  }

  // A leader that finds the pool outside min..max (on taking over, or after the bounds changed)
  // brings it back: missing blocks are launched, surplus ones drained.
  private clampFound(): void {
    const { strategy, min_blocks, max_blocks } = this.settings;
    const current = activeBlocks(this.pool);
    const wanted = Math.min(max_blocks, Math.max(min_blocks, current));
    if (strategy === "none" || wanted === current) return;
    const detail = `${current} blocks, outside min_blocks ${min_blocks}..max_blocks ${max_blocks}`;
    this.moveTo(wanted, wanted > current ? "min_restore" : "scale_in", detail);
  }

  /** Applies settings overrides over the config's (the next poll, run at once, uses them). */
  private override(overrides: Partial<ScalingSettings>, warnings: readonly string[]): void {
    for (const warning of warnings)
      this.deps.log.warn({ pool: this.pool.name }, `scaling settings: ${warning}`);
    const next = { ...this.base, ...overrides };
    const before = this.settings;
    if (JSON.stringify(next) === JSON.stringify(before)) return;
    this.current = next;
    this.deps.log.info({ pool: this.pool.name, overrides, settings: next }, "scaling settings changed");
    if (next.strategy !== before.strategy) {
      this.memory = { ...this.memory, idleSince: null };
      if (next.strategy === "none") this.target = activeBlocks(this.pool);
    }
    if (this.active && !this.memory.firstPoll) this.clampFound();
    this.poll();
  }

  /** Stops polling and replacing. */
  close(): void {
    this.closed = true;
    clearTimeout(this.periodTimer);
    clearTimeout(this.replaceTimer);
  }
}
