import type { Logger } from "@chorus/shared";
import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import { type BlockEvent, type BlockState, TERMINAL_STATES } from "./block.js";
import { ReplicaEchoes } from "./k8s-echoes.js";
import {
  blockStateOf,
  type EndpointView,
  isLive,
  type PodView,
  removesExactly,
  viewPod,
} from "./k8s-pod-state.js";
import { readBounds } from "./k8s-pool-bounds.js";
import type { PoolNotice } from "./provider.js";
import type { ScalingSettings } from "./scaling/index.js";

/** The writes one pool needs: the Deployment's scale subresource and the drain mark on pods. */
export interface PoolApi {
  /** Sets spec.replicas through the scale subresource. */
  scale(replicas: number): Promise<void>;
  /** Puts Chorus's draining mark and a low pod-deletion-cost on a pod. */
  mark(pod: string): Promise<void>;
}

/** What a KubePool works with. */
export interface KubePoolDeps {
  readonly pool: string;
  readonly deployment: string;
  /** The pool's configured settings, which Deployment annotations override. */
  readonly settings: ScalingSettings;
  readonly api: PoolApi;
  emit(event: BlockEvent): void;
  notify(notice: PoolNotice): void;
  readonly log: Logger;
}

const MAX_RETRY_MS = 30_000;

/**
 * One pool on Kubernetes: turns its Deployment, pods and endpoints into block events, and, while
 * this orchestrator leads, drives the Deployment's replicas to what the scaler asked for.
 *
 * Blocks are pods, named by pod name. A replica asked for but not created yet is a placeholder
 * block (`<deployment>/requested-N`, PENDING) until a pod takes its place, so the scaler counts
 * pending capacity at once. Pods the scaler stops are marked and given a low deletion cost, and
 * replicas are lowered only when the ReplicaSet would remove exactly those pods.
 */
export class KubePool {
  private replicas: number | undefined;
  private readonly pods = new Map<string, PodView>();
  private endpoints = new Map<string, EndpointView>();
  private readonly reported = new Map<string, { state: BlockState; address: string | undefined }>();
  private placeholders: string[] = [];
  private sequence = 0;
  private leading = false;
  /** Blocks the scaler wants, not counting pods being removed (leader only). */
  private intent = 0;
  /** Live pods this orchestrator is removing. */
  private readonly doomed = new Set<string>();
  /** Pods whose mark was sent and not seen back yet. */
  private readonly marking = new Set<string>();
  private readonly echoes: ReplicaEchoes;
  private settingsKey = "";
  private seen = false;
  private running = false;
  private again = false;
  private retryMs = 500;
  private retryTimer: NodeJS.Timeout | undefined;
  private waitingFor = "";
  private closed = false;

  constructor(private readonly deps: KubePoolDeps) {
    this.echoes = new ReplicaEchoes(() => this.judge());
  }

  private get name(): string {
    return this.deps.pool;
  }

  /** Applies the Deployment as watched; undefined once it is deleted. */
  onDeployment(deployment: V1Deployment | undefined): void {
    if (!deployment) {
      this.replicas = undefined;
      this.deps.log.warn({ pool: this.name, deployment: this.deps.deployment }, "Deployment deleted");
      this.refresh();
      return;
    }
    const replicas = deployment.spec?.replicas ?? 1;
    this.replicas = replicas;
    this.readSettings(deployment.metadata?.annotations);
    if (!this.seen) {
      this.seen = true;
      this.intent = replicas;
      this.echoes.expected = replicas;
      this.refresh();
      this.deps.notify({
        kind: "resized",
        pool: this.name,
        blocks: replicas,
        previous: replicas,
        first: true,
      });
      return;
    }
    if (this.leading) this.echoes.observed(replicas);
    else this.follow(replicas);
    this.refresh();
    this.schedule();
  }

  private readSettings(annotations: Record<string, string> | undefined): void {
    const reading = readBounds(annotations, this.deps.settings);
    const key = JSON.stringify(reading);
    if (key === this.settingsKey) return;
    this.settingsKey = key;
    this.deps.notify({ kind: "settings", pool: this.name, ...reading });
  }

  // A follower mirrors the Deployment; the scaler records the change without acting on it.
  private follow(replicas: number): void {
    const previous = this.intent;
    this.intent = replicas;
    this.echoes.expected = replicas;
    if (previous !== replicas)
      this.deps.notify({ kind: "resized", pool: this.name, blocks: replicas, previous, first: false });
  }

  // Called whenever no write of ours is pending: a count we did not write was set elsewhere.
  private judge(): void {
    if (!this.leading || this.replicas === undefined || this.replicas === this.echoes.expected) return;
    const previous = this.echoes.expected ?? this.replicas;
    this.echoes.expected = this.replicas;
    this.intent = this.replicas;
    this.refresh();
    this.deps.notify({ kind: "resized", pool: this.name, blocks: this.replicas, previous, first: false });
    this.schedule();
  }

  /** Applies a pod as watched. */
  onPod(pod: V1Pod, deleted: boolean): void {
    const view = viewPod(pod);
    if (deleted) this.pods.delete(view.name);
    else this.pods.set(view.name, view);
    if (view.marked || deleted) this.marking.delete(view.name);
    this.refresh();
    this.schedule();
  }

  /** Applies the pool Service's endpoints, by pod name. */
  onEndpoints(endpoints: Map<string, EndpointView>): void {
    this.endpoints = endpoints;
    this.refresh();
  }

  private livePods(): PodView[] {
    return [...this.pods.values()].filter(isLive);
  }

  /** Re-derives every block's state and the placeholders, and reports what changed. */
  private refresh(): void {
    if (this.closed) return;
    const live = this.livePods();
    // A leader frees the replica of a pod that cannot serve, so the scaler may replace it.
    for (const pod of live) {
      if (this.leading && pod.failure && !this.doomed.has(pod.name)) {
        this.doomed.add(pod.name);
        this.intent = Math.max(0, this.intent - 1);
      }
    }
    for (const name of this.doomed) if (!live.some((pod) => pod.name === name)) this.doomed.delete(name);
    for (const pod of this.pods.values()) {
      const state = this.doomed.has(pod.name)
        ? pod.failure
          ? "FAILED"
          : "DRAINING"
        : blockStateOf(pod, this.endpoints.get(pod.name));
      this.report(pod.name, state, this.endpoints.get(pod.name)?.address, pod.failure);
    }
    for (const name of this.reported.keys()) {
      if (!this.pods.has(name)) this.report(name, "CANCELLED", undefined, "pod deleted");
    }
    this.fitPlaceholders(live);
  }

  private report(name: string, state: BlockState, address: string | undefined, detail?: string): void {
    const last = this.reported.get(name);
    // A block reported ended stays ended: a failed pod that is later removed was already let go.
    if (last && TERMINAL_STATES.has(last.state) && (state === "DRAINING" || TERMINAL_STATES.has(state))) {
      if (state === "CANCELLED") this.reported.delete(name);
      return;
    }
    if (state === "CANCELLED") this.reported.delete(name);
    else this.reported.set(name, { state, address });
    if (last && last.state === state && (state !== "RUNNING" || last.address === address)) return;
    const routed = state === "RUNNING" ? address : undefined;
    this.deps.emit({ blockId: name, pool: this.name, state, address: routed, detail });
  }

  // Placeholders stand for replicas asked for whose pods do not exist yet.
  private fitPlaceholders(live: readonly PodView[]): void {
    const counted = this.leading ? live.filter((pod) => !this.doomed.has(pod.name)).length : live.length;
    const wanted = this.replicas === undefined ? 0 : this.leading ? this.intent : this.replicas;
    const missing = Math.max(0, wanted - counted);
    while (this.placeholders.length > missing) {
      const id = this.placeholders.shift() ?? "";
      this.deps.emit({ blockId: id, pool: this.name, state: "CANCELLED", detail: "a pod took its place" });
    }
    while (this.placeholders.length < missing) {
      this.sequence += 1;
      const id = `${this.deps.deployment}/requested-${this.sequence}`;
      this.placeholders.push(id);
      this.deps.emit({ blockId: id, pool: this.name, state: "PENDING", detail: "replica requested" });
    }
  }

  /** Asks for `count` more replicas; returns the placeholder ids that stand for them. */
  launch(count: number): string[] {
    if (!this.leading || this.replicas === undefined) {
      const why = this.replicas === undefined ? `no Deployment ${this.deps.deployment}` : "not the leader";
      this.deps.log.warn({ pool: this.name, count }, `cannot launch blocks: ${why}`);
      return [];
    }
    const before = new Set(this.placeholders);
    this.intent += count;
    this.refresh();
    this.schedule();
    return this.placeholders.filter((id) => !before.has(id));
  }

  /** Stops the given blocks: placeholders are dropped, pods are marked and scaled away. */
  cancel(ids: readonly string[]): void {
    if (!this.leading) return;
    for (const id of ids) {
      const placeholder = this.placeholders.indexOf(id);
      if (placeholder >= 0) {
        this.placeholders.splice(placeholder, 1);
        this.intent = Math.max(0, this.intent - 1);
        this.deps.emit({ blockId: id, pool: this.name, state: "CANCELLED", detail: "cancelled" });
        continue;
      }
      const pod = this.pods.get(id);
      if (!pod || !isLive(pod) || this.doomed.has(id)) continue;
      this.doomed.add(id);
      this.intent = Math.max(0, this.intent - 1);
    }
    this.refresh();
    this.schedule();
  }

  /** Sets the pool to `blocks` replicas; a follower writes it once and leaves it to the leader. */
  resize(blocks: number): void {
    if (!this.leading) {
      this.deps.api.scale(blocks).catch((err: unknown) => {
        this.deps.log.error({ err, pool: this.name, blocks }, "scaling the Deployment failed");
      });
      return;
    }
    this.intent = blocks;
    this.refresh();
    this.schedule();
  }

  /**
   * Starts or stops leading. A new leader takes the Deployment as it is, and finishes the previous
   * leader's scale-in: marked pods are removed.
   */
  lead(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.doomed.clear();
    this.marking.clear();
    const replicas = this.replicas ?? 0;
    if (leading) {
      const live = this.livePods();
      for (const pod of live) if (pod.marked) this.doomed.add(pod.name);
      // If replicas were not lowered for the marked pods yet, they are not part of what is wanted.
      this.intent = replicas >= live.length ? replicas - this.doomed.size : replicas;
    } else {
      this.intent = replicas;
    }
    this.echoes.expected = this.replicas;
    this.echoes.reset();
    this.refresh();
    this.schedule();
  }

  private schedule(): void {
    if (!this.leading || this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.reconcile();
      } while (this.again && this.leading && !this.closed);
      this.retryMs = 500;
    } catch (err) {
      this.deps.log.warn(
        { err, pool: this.name, retryMs: this.retryMs },
        "updating the pool failed; retrying",
      );
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.schedule(), this.retryMs);
      this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
    } finally {
      this.running = false;
    }
  }

  /** One step towards the wanted state: mark, wait until removal is exact, lower, then raise. */
  private async reconcile(): Promise<void> {
    if (!this.leading || this.replicas === undefined) return;
    const live = this.livePods();
    const victims = live.filter((pod) => this.doomed.has(pod.name));
    const kept = live.filter((pod) => !this.doomed.has(pod.name));
    const current = this.echoes.current(this.replicas) ?? 0;
    if (victims.length === 0) {
      if (current !== this.intent) await this.write(this.intent);
      return;
    }
    const unmarked = victims.filter((pod) => !pod.marked && !this.marking.has(pod.name));
    if (unmarked.length > 0) {
      await Promise.all(unmarked.map((pod) => this.mark(pod.name)));
      return;
    }
    // The marks must be visible (our watch shows them) before the ReplicaSet is asked to choose.
    if (victims.some((pod) => !pod.marked) || current === kept.length) return;
    // Never raise replicas here: with fewer replicas than live pods the ReplicaSet is removing some
    // already, and the marked ones rank first.
    if (current < live.length) return this.wait("the ReplicaSet is still removing pods");
    const templates = new Set(live.map((pod) => pod.templateHash));
    if (templates.size > 1) return this.wait("a rollout is in progress");
    if (!removesExactly(victims, kept)) {
      const notReady = kept.filter((pod) => !pod.ready).map((pod) => pod.name);
      return this.wait(`pods not Ready yet (${notReady.join(", ")}) would be removed first`);
    }
    this.waitingFor = "";
    this.deps.log.info(
      { pool: this.name, pods: victims.map((pod) => pod.name), replicas: kept.length },
      "scaling in: lowering replicas to remove the drained pods",
    );
    await this.write(kept.length);
  }

  private wait(reason: string): void {
    if (reason === this.waitingFor) return;
    this.waitingFor = reason;
    this.deps.log.info({ pool: this.name, reason }, "scale-in waits so that only drained pods are removed");
  }

  private async mark(pod: string): Promise<void> {
    this.marking.add(pod);
    try {
      await this.deps.api.mark(pod);
    } catch (err) {
      this.marking.delete(pod);
      throw err;
    }
  }

  private async write(replicas: number): Promise<void> {
    const forget = this.echoes.wrote(replicas);
    try {
      await this.deps.api.scale(replicas);
      this.deps.log.info({ pool: this.name, deployment: this.deps.deployment, replicas }, "set replicas");
    } catch (err) {
      forget();
      throw err;
    }
  }

  /** Stops every timer. */
  close(): void {
    this.closed = true;
    this.leading = false;
    clearTimeout(this.retryTimer);
    this.echoes.close();
  }
}
