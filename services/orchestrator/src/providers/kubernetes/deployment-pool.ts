import type { Logger } from "@chorus/shared";
import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import type { ScalingSettings } from "../../scaling/index.js";
import type { BlockEvent } from "../block-event.js";
import type { PoolNotice } from "../provider.js";
import { BlockReporter } from "./block-report.js";
import { ReplicaEchoes } from "./echoes.js";
import { blockStateOf, type EndpointView, isLive, type PodView, viewPod } from "./pod-state.js";
import { readBounds } from "./pool-bounds.js";
import { nextReplicaStep } from "./replica-plan.js";
import { SerialRunner } from "./serial.js";

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
  private readonly blocks: BlockReporter;
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
  private readonly runner: SerialRunner;
  private waitingFor = "";
  private closed = false;

  constructor(private readonly deps: KubePoolDeps) {
    this.blocks = new BlockReporter(deps.pool, deps.deployment, deps.emit);
    this.runner = new SerialRunner(
      () => this.reconcile(),
      (err, retryMs) =>
        deps.log.warn({ err, pool: deps.pool, retryMs }, "updating the pool failed; retrying"),
    );
    this.echoes = new ReplicaEchoes(
      () => this.judge(),
      () => {
        // Without the echo the count on hand may be stale: take it as known, and write again if needed.
        this.echoes.expected = this.replicas;
        this.schedule();
      },
    );
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
      this.resized(replicas, replicas, true);
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
    if (previous !== replicas) this.resized(replicas, previous, false);
  }

  private resized(blocks: number, previous: number, first: boolean): void {
    this.deps.notify({ kind: "resized", pool: this.name, blocks, previous, first });
  }

  // Called whenever no write of ours is pending: a count we did not write was set elsewhere.
  private judge(): void {
    if (!this.leading || this.replicas === undefined || this.replicas === this.echoes.expected) return;
    const previous = this.echoes.expected ?? this.replicas;
    this.echoes.expected = this.replicas;
    this.intent = this.replicas;
    this.refresh();
    this.resized(this.replicas, previous, false);
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
      const doomed = this.doomed.has(pod.name);
      const state = doomed
        ? pod.failure
          ? "FAILED"
          : "DRAINING"
        : blockStateOf(pod, this.endpoints.get(pod.name));
      this.blocks.pod(pod.name, state, this.endpoints.get(pod.name)?.address, pod.failure);
    }
    this.blocks.forgetGone((name) => this.pods.has(name));
    // Placeholders stand for replicas asked for whose pods do not exist yet.
    const counted = this.leading ? live.filter((pod) => !this.doomed.has(pod.name)).length : live.length;
    const wanted = this.replicas === undefined ? 0 : this.leading ? this.intent : this.replicas;
    this.blocks.placeholdersTo(Math.max(0, wanted - counted));
  }

  /** Asks for `count` more replicas; returns the placeholder ids that stand for them. */
  launch(count: number): string[] {
    if (!this.leading || this.replicas === undefined) {
      const why = this.replicas === undefined ? `no Deployment ${this.deps.deployment}` : "not the leader";
      this.deps.log.warn({ pool: this.name, count }, `cannot launch blocks: ${why}`);
      return [];
    }
    const before = new Set(this.blocks.standing);
    this.intent += count;
    this.refresh();
    this.schedule();
    return this.blocks.standing.filter((id) => !before.has(id));
  }

  /** Stops the given blocks: placeholders are dropped, pods are marked and scaled away. */
  cancel(ids: readonly string[]): void {
    if (!this.leading) return;
    for (const id of ids) {
      if (this.blocks.cancelPlaceholder(id)) {
        this.intent = Math.max(0, this.intent - 1);
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
    if (this.leading) this.runner.request();
  }

  /** One step towards the wanted state: mark, wait until removal is exact, lower, then raise. */
  private async reconcile(): Promise<void> {
    if (!this.leading || this.replicas === undefined) return;
    const step = nextReplicaStep({
      live: this.livePods(),
      doomed: this.doomed,
      marking: this.marking,
      current: this.echoes.current(this.replicas) ?? 0,
      intent: this.intent,
    });
    if (step.kind === "wait") return this.wait(step.reason, step.routine);
    this.waitingFor = "";
    if (step.kind === "mark") await Promise.all(step.pods.map((pod) => this.mark(pod)));
    if (step.kind !== "scale") return;
    if (step.removing.length > 0) {
      const { pool } = this.deps;
      this.deps.log.info(
        { pool, pods: step.removing, replicas: step.replicas },
        "scaling in: removing the drained pods",
      );
    }
    await this.write(step.replicas);
  }

  private wait(reason: string, routine: boolean): void {
    if (reason === this.waitingFor) return;
    this.waitingFor = reason;
    const message = "scale-in waits so that the ReplicaSet removes only the drained pods";
    if (routine) this.deps.log.debug({ pool: this.name, reason }, message);
    else this.deps.log.info({ pool: this.name, reason }, message);
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
    this.runner.close();
    this.echoes.close();
  }
}
