import { CoreV1Api, type Informer, type KubeConfig, makeInformer, type V1Pod } from "@kubernetes/client-node";
import { DELETION_COST, DRAINING_MARK } from "../providers/kubernetes/pod-state.js";

/** What a test saw of one pod. */
export interface PodRecord {
  /** The pod-deletion-cost it carried, if any. */
  cost: string | undefined;
  marked: boolean;
  /** It got a deletionTimestamp or vanished. */
  deleted: boolean;
}

/**
 * Watches a pool's pods and remembers, per pod, whether it was ever marked for removal by Chorus
 * and whether it was deleted, so a test can compare the two sets. A watch sees every change, even
 * a pod marked and deleted within milliseconds.
 */
export class PodLedger {
  readonly pods = new Map<string, PodRecord>();
  private readonly informer: Informer<V1Pod>;

  constructor(kc: KubeConfig, namespace: string, selector: string) {
    const core = kc.makeApiClient(CoreV1Api);
    this.informer = makeInformer(
      kc,
      `/api/v1/namespaces/${namespace}/pods`,
      () => core.listNamespacedPod({ namespace, labelSelector: selector }),
      selector,
    );
    const record = (pod: V1Pod, gone: boolean) => {
      const name = pod.metadata?.name ?? "";
      const entry = this.pods.get(name) ?? { cost: undefined, marked: false, deleted: false };
      const annotations = pod.metadata?.annotations ?? {};
      entry.cost = annotations[DELETION_COST] ?? entry.cost;
      entry.marked ||= annotations[DRAINING_MARK] !== undefined;
      entry.deleted ||= gone || Boolean(pod.metadata?.deletionTimestamp);
      this.pods.set(name, entry);
    };
    this.informer.on("add", (pod) => record(pod, false));
    this.informer.on("update", (pod) => record(pod, false));
    this.informer.on("delete", (pod) => record(pod, true));
  }

  /** Lists the pods and starts watching. */
  start(): Promise<void> {
    return this.informer.start();
  }

  /** Names of the pods matching `filter`, sorted. */
  names(filter: (record: PodRecord) => boolean): string[] {
    return [...this.pods]
      .filter(([, record]) => filter(record))
      .map(([name]) => name)
      .sort();
  }

  /** Stops watching. */
  stop(): Promise<void> {
    return this.informer.stop();
  }
}
