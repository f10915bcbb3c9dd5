import type { AgentConfig, ChorusConfig } from "@chorus/config";
import type { Logger } from "@chorus/shared";
import {
  AppsV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  type V1Deployment,
  type V1EndpointSlice,
  type V1Pod,
} from "@kubernetes/client-node";
import type { BlockEvent } from "../block-event.js";
import type { PoolNotice, Provider } from "../provider.js";
import { FIELD_MANAGER, JSON_PATCH, MERGE_PATCH, Watcher } from "./client.js";
import { KubePool, type PoolApi } from "./deployment-pool.js";
import { DELETION_COST, DRAINING_MARK, endpointsByPod, VICTIM_COST } from "./pod-state.js";

/** The `provider.kubernetes` config section. */
export type KubernetesSettings = ChorusConfig["provider"]["kubernetes"];

/** Labels every agent Deployment and pod carries; pods also carry `chorus.dev/pool=<pool>`. */
export const AGENT_SELECTOR = "app.kubernetes.io/name=chorus,app.kubernetes.io/component=agent";
/** The pod label that names the pool. */
export const POOL_LABEL = "chorus.dev/pool";
const SERVICE_LABEL = "kubernetes.io/service-name";

/** What the Kubernetes provider needs. */
export interface KubernetesProviderOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly settings: KubernetesSettings;
  readonly agents: readonly AgentConfig[];
  /** Written into the draining mark, so an operator sees which orchestrator removed a pod. */
  readonly identity: string;
  readonly log: Logger;
}

/** Fills a `{pool}` template such as `chorus-agent-{pool}`. */
export function poolObjectName(template: string, pool: string): string {
  return template.replaceAll("{pool}", pool);
}

/**
 * Blocks are the pods of one Deployment per pool (created by Helm, never by Chorus). Pools are
 * scaled only through each Deployment's scale subresource; block states come from a pod watch,
 * addresses from an EndpointSlice watch on the pool's Service, and every watch restarts after
 * errors. Only the leading orchestrator changes replicas; every one of them routes.
 */
export class KubernetesProvider implements Provider {
  readonly name = "kubernetes";
  private readonly pools = new Map<string, KubePool>();
  private readonly poolOfDeployment = new Map<string, string>();
  private readonly poolOfService = new Map<string, string>();
  private readonly listeners: Array<(event: BlockEvent) => void> = [];
  private readonly noticeListeners: Array<(notice: PoolNotice) => void> = [];
  private readonly watchers: Watcher<V1Pod | V1EndpointSlice | V1Deployment>[] = [];
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private readonly discovery: DiscoveryV1Api;
  private endpointSlices: Watcher<V1EndpointSlice> | undefined;
  private deployments: Watcher<V1Deployment> | undefined;

  constructor(private readonly options: KubernetesProviderOptions) {
    this.apps = options.kc.makeApiClient(AppsV1Api);
    this.core = options.kc.makeApiClient(CoreV1Api);
    this.discovery = options.kc.makeApiClient(DiscoveryV1Api);
    const { settings } = options;
    for (const agent of options.agents) {
      const deployment = poolObjectName(settings.deployment_template, agent.name);
      this.poolOfDeployment.set(deployment, agent.name);
      this.poolOfService.set(poolObjectName(settings.service_template, agent.name), agent.name);
      const pool = new KubePool({
        pool: agent.name,
        deployment,
        settings: { ...agent.scaling },
        api: this.poolApi(deployment),
        emit: (event) => {
          for (const listener of this.listeners) listener(event);
        },
        notify: (notice) => {
          for (const listener of this.noticeListeners) listener(notice);
        },
        log: options.log,
      });
      this.pools.set(agent.name, pool);
    }
  }

  /** The namespace the pools live in. */
  get namespace(): string {
    return this.options.namespace;
  }

  private poolApi(deployment: string): PoolApi {
    const namespace = this.options.namespace;
    return {
      scale: async (replicas) => {
        // JSON Patch `add` also works when a Scale of 0 replicas leaves the field out.
        const body = [{ op: "add", path: "/spec/replicas", value: replicas }];
        await this.apps.patchNamespacedDeploymentScale(
          { name: deployment, namespace, body, fieldManager: FIELD_MANAGER },
          JSON_PATCH,
        );
      },
      mark: async (pod) => {
        const annotations = {
          [DRAINING_MARK]: `${this.options.identity} ${new Date().toISOString()}`,
          [DELETION_COST]: String(VICTIM_COST),
        };
        await this.core.patchNamespacedPod(
          { name: pod, namespace, body: { metadata: { annotations } }, fieldManager: FIELD_MANAGER },
          MERGE_PATCH,
        );
      },
    };
  }

  /**
   * Lists and watches pods, EndpointSlices, then Deployments (so pods are known before replicas
   * are compared with them); rejects when a first list fails, e.g. for missing RBAC permissions.
   */
  async start(): Promise<void> {
    const { kc, namespace, log } = this.options;
    const pods = new Watcher<V1Pod>(
      kc,
      `/api/v1/namespaces/${namespace}/pods`,
      () => this.core.listNamespacedPod({ namespace, labelSelector: `${AGENT_SELECTOR},${POOL_LABEL}` }),
      `${AGENT_SELECTOR},${POOL_LABEL}`,
      {
        changed: (pod) => this.poolOfPod(pod)?.onPod(pod, false),
        deleted: (pod) => this.poolOfPod(pod)?.onPod(pod, true),
      },
      `pods in ${namespace}`,
      log,
    );
    const services = [...this.poolOfService.keys()].join(",");
    const sliceSelector = `${SERVICE_LABEL} in (${services})`;
    const slices = new Watcher<V1EndpointSlice>(
      kc,
      `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
      () => this.discovery.listNamespacedEndpointSlice({ namespace, labelSelector: sliceSelector }),
      sliceSelector,
      { changed: (slice) => this.sliceChanged(slice), deleted: (slice) => this.sliceChanged(slice) },
      `endpointslices in ${namespace}`,
      log,
    );
    this.endpointSlices = slices;
    const deployments = new Watcher<V1Deployment>(
      kc,
      `/apis/apps/v1/namespaces/${namespace}/deployments`,
      () => this.apps.listNamespacedDeployment({ namespace, labelSelector: AGENT_SELECTOR }),
      AGENT_SELECTOR,
      {
        changed: (deployment) => this.poolOfDeploymentObject(deployment)?.onDeployment(deployment),
        deleted: (deployment) => this.poolOfDeploymentObject(deployment)?.onDeployment(undefined),
      },
      `deployments in ${namespace}`,
      log,
    );
    this.deployments = deployments;
    try {
      for (const watcher of [pods, slices, deployments]) {
        this.watchers.push(watcher as Watcher<V1Pod | V1EndpointSlice | V1Deployment>);
        await watcher.start();
      }
    } catch (err) {
      await this.close();
      throw new Error(`kubernetes provider: ${(err as Error).message}`);
    }
    const found = new Set(deployments.list().map((d) => d.metadata?.name ?? ""));
    for (const name of this.poolOfDeployment.keys()) {
      if (!found.has(name)) {
        log.warn(
          { deployment: name, namespace, selector: AGENT_SELECTOR },
          "no agent Deployment for this pool",
        );
      }
    }
  }

  private poolOfPod(pod: V1Pod): KubePool | undefined {
    return this.pools.get(pod.metadata?.labels?.[POOL_LABEL] ?? "");
  }

  private poolOfDeploymentObject(deployment: V1Deployment): KubePool | undefined {
    return this.pools.get(this.poolOfDeployment.get(deployment.metadata?.name ?? "") ?? "");
  }

  private sliceChanged(slice: V1EndpointSlice): void {
    const service = slice.metadata?.labels?.[SERVICE_LABEL] ?? "";
    const pool = this.pools.get(this.poolOfService.get(service) ?? "");
    if (!pool || !this.endpointSlices) return;
    const ofService = this.endpointSlices
      .list()
      .filter((s) => s.metadata?.labels?.[SERVICE_LABEL] === service);
    pool.onEndpoints(endpointsByPod(ofService, this.options.settings.agent_port_name));
  }

  /** The pool's Deployment as last watched (name and uid), or undefined while there is none. */
  deploymentOf(pool: string): { name: string; uid: string } | undefined {
    const name = poolObjectName(this.options.settings.deployment_template, pool);
    const uid = this.deployments?.list().find((d) => d.metadata?.name === name)?.metadata?.uid;
    return uid ? { name, uid } : undefined;
  }

  onEvent(listener: (event: BlockEvent) => void): void {
    this.listeners.push(listener);
  }

  onNotice(listener: (notice: PoolNotice) => void): void {
    this.noticeListeners.push(listener);
  }

  launch(pool: string, count: number): string[] {
    return this.pools.get(pool)?.launch(count) ?? [];
  }

  async cancel(blockIds: readonly string[]): Promise<void> {
    // Each pool ignores ids that are not its own.
    for (const pool of this.pools.values()) pool.cancel(blockIds);
  }

  resize(pool: string, blocks: number): void {
    this.pools.get(pool)?.resize(blocks);
  }

  lead(leading: boolean): void {
    for (const pool of this.pools.values()) pool.lead(leading);
  }

  /** Stops watching. Pods are left running: the Deployments own them. */
  async close(): Promise<void> {
    for (const pool of this.pools.values()) pool.close();
    await Promise.all(this.watchers.map((watcher) => watcher.stop()));
  }
}
