import type { Logger } from "@chorus/shared";
import { CoreV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import type { Pool, RemoteLoad } from "../executor/pool.js";
import { describeApiError, FIELD_MANAGER, MERGE_PATCH, Watcher } from "../providers/kubernetes/client.js";
import {
  encodeLoad,
  LOAD_ANNOTATION,
  type LoadReport,
  measureLoad,
  parseLoad,
  sumLoads,
} from "./load-report.js";

/** The labels that pick this release's orchestrator pods out of the namespace. */
const PEER_LABELS = ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"];

/** A publish with an unchanged load still goes out this many report periods after the last. */
const HEARTBEAT_PERIODS = 10;

/** A peer silent for this many heartbeats (hung, or cut off from the API) no longer counts. */
const STALE_HEARTBEATS = 3;

/** What load sharing needs. */
export interface LoadShareOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  /** This orchestrator's pod (POD_NAME); without it nothing is published or read. */
  readonly podName: string | undefined;
  readonly pools: ReadonlyMap<string, Pool>;
  readonly reportMs: number;
  readonly log: Logger;
  /** Milliseconds since the epoch; tests move it forward. */
  readonly clock?: () => number;
}

function sameLoad(a: RemoteLoad, b: RemoteLoad): boolean {
  return a.tasks === b.tasks && a.busy.size === b.busy.size && [...a.busy].every((name) => b.busy.has(name));
}

/**
 * Every orchestrator routes, but only the Lease holder scales: each one publishes the tasks it
 * routes per pool in an annotation on its own pod, and reads its peers' annotations into each
 * pool's remote load, so the leader's strategy sees the sum and never drains a pod a peer uses.
 */
export class LoadShare {
  private readonly core: CoreV1Api;
  private readonly peers = new Map<string, { report: LoadReport; heardMs: number }>();
  private watcher: Watcher<V1Pod> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private published: string | undefined;
  private publishedMs = 0;
  private publishing = false;
  private failing = false;

  constructor(private readonly options: LoadShareOptions) {
    this.core = options.kc.makeApiClient(CoreV1Api);
  }

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }

  /** Reads this pod's labels, watches the peers that share them, and starts publishing. */
  async start(): Promise<void> {
    const { namespace, podName, log } = this.options;
    if (!podName) {
      log.info("POD_NAME is not set: the load of other orchestrators is not shared");
      return;
    }
    const own = await this.core.readNamespacedPod({ name: podName, namespace });
    const labels = own.metadata?.labels ?? {};
    const selector = PEER_LABELS.filter((key) => labels[key])
      .map((key) => `${key}=${labels[key]}`)
      .join(",");
    if (!selector) throw new Error(`pod ${podName} has none of the labels ${PEER_LABELS.join(", ")}`);
    this.watcher = new Watcher<V1Pod>(
      this.options.kc,
      `/api/v1/namespaces/${namespace}/pods`,
      () => this.core.listNamespacedPod({ namespace, labelSelector: selector }),
      selector,
      { changed: (pod) => this.heard(pod, false), deleted: (pod) => this.heard(pod, true) },
      `orchestrator pods in ${namespace}`,
      log,
    );
    await this.watcher.start();
    this.timer = setInterval(() => this.tick(), this.options.reportMs);
    this.tick();
  }

  private heard(pod: V1Pod, deleted: boolean): void {
    const name = pod.metadata?.name ?? "";
    if (name === this.options.podName) return;
    if (deleted || pod.metadata?.deletionTimestamp) this.peers.delete(name);
    else
      this.peers.set(name, {
        report: parseLoad(pod.metadata?.annotations?.[LOAD_ANNOTATION]),
        heardMs: this.now(),
      });
    this.apply();
  }

  private tick(): void {
    void this.publish();
    this.apply();
  }

  /** Sums the peers that are not stale into each pool's remote load. */
  private apply(): void {
    const staleMs = this.options.reportMs * HEARTBEAT_PERIODS * STALE_HEARTBEATS;
    const now = this.now();
    for (const [name, peer] of this.peers) if (now - peer.heardMs > staleMs) this.peers.delete(name);
    const reports = [...this.peers.values()].map((peer) => peer.report);
    for (const pool of this.options.pools.values()) {
      const load = sumLoads(reports, pool.name);
      if (!sameLoad(load, pool.remote)) pool.setRemote(load);
    }
  }

  private async publish(): Promise<void> {
    const { namespace, podName, log, reportMs } = this.options;
    if (this.publishing || !podName) return;
    const value = encodeLoad(measureLoad(this.options.pools.values()));
    const now = this.now();
    if (value === this.published && now - this.publishedMs < reportMs * HEARTBEAT_PERIODS) return;
    this.publishing = true;
    try {
      // The time makes a heartbeat a real change, so peers hear from a pod whose load is steady.
      const annotations = {
        [LOAD_ANNOTATION]: value,
        [`${LOAD_ANNOTATION}-at`]: new Date(now).toISOString(),
      };
      await this.core.patchNamespacedPod(
        { name: podName, namespace, body: { metadata: { annotations } }, fieldManager: FIELD_MANAGER },
        MERGE_PATCH,
      );
      this.published = value;
      this.publishedMs = now;
      if (this.failing) log.info("publishing this orchestrator's load works again");
      this.failing = false;
    } catch (err) {
      if (!this.failing) log.warn({ err: describeApiError(err) }, "cannot publish this orchestrator's load");
      this.failing = true;
    } finally {
      this.publishing = false;
    }
  }

  /** Stops publishing and watching; every pool's remote load goes back to none. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.watcher?.stop();
    this.peers.clear();
    this.apply();
  }
}
