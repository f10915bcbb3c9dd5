import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  CoordinationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  type Informer,
  KubeConfig,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1PersistentVolumeClaim,
  type V1Pod,
} from "@kubernetes/client-node";
import { apiSources, writePodKubeconfig } from "./api-sources.js";
import type { PodSubnet } from "./netns.js";
import { registerNode, renewLease } from "./node-registration.js";
import { PodRuntime } from "./pod-runtime.js";
import type { PodSources } from "./pod-spec.js";
import { startProvisioner } from "./pv-provisioner.js";
import { ServiceProxy } from "./service-proxy.js";

/** Options of the test kubelet. */
export interface KubeletOptions {
  /** Admin kubeconfig file. */
  readonly kubeconfig: string;
  /** The apiserver's loopback port (proxied onto the bridge IP for pods). */
  readonly apiserverPort: number;
  readonly caCertPem: string;
  readonly subnet: PodSubnet;
  /** State directory (pod dirs, logs, claim dirs). */
  readonly dir: string;
  readonly nodeName?: string;
  /** command[0] → local argv prefix; e.g. { chorus: ["node", "<repo>/tools/cli/dist/chorus.mjs"] }. */
  readonly commands?: Readonly<Record<string, readonly string[]>>;
  /** The image entrypoint used when a container has no command; default ["chorus"]. */
  readonly defaultEntrypoint?: readonly string[];
  /** Environment every pod process starts from (PATH should find node, grpcurl, …). */
  readonly baseEnv?: Readonly<Record<string, string>>;
  readonly log?: (message: string) => void;
}

/** A pod the kubelet runs, as tests see it. */
export interface RunningPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly ip: string | undefined;
  readonly netns: string | undefined;
  /** PIDs of the container processes currently running. */
  readonly pids: number[];
}

const MERGE = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const LEASE_RENEW_MS = 10_000;

/**
 * A small test kubelet: registers a Node (and renews its Lease), binds unscheduled pods to it,
 * runs each pod's containers as local processes inside the pod's own network namespace, reports
 * pods/status (Running, podIP, Ready from probes) and finalises deletions.
 */
export class TestKubelet {
  readonly nodeName: string;
  private readonly kc: KubeConfig;
  private readonly sources: PodSources;
  private readonly core: CoreV1Api;
  private readonly coordination: CoordinationV1Api;
  private readonly runtimes = new Map<string, PodRuntime>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();
  private informer: Informer<V1Pod> | undefined;
  private claims: Informer<V1PersistentVolumeClaim> | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private services: ServiceProxy | undefined;
  private stopped = false;
  private readonly log: (message: string) => void;

  private constructor(private readonly options: KubeletOptions) {
    const kc = new KubeConfig();
    kc.loadFromFile(options.kubeconfig);
    this.core = kc.makeApiClient(CoreV1Api);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
    this.nodeName = options.nodeName ?? "testenv-node";
    this.log = options.log ?? (() => undefined);
    this.kc = kc;
    this.sources = apiSources(this.core, options.caCertPem);
  }

  /** Starts the service proxy, registers the node, provisions claims and starts watching pods. */
  static async start(options: KubeletOptions): Promise<TestKubelet> {
    const kubelet = new TestKubelet(options);
    kubelet.services = new ServiceProxy(
      kubelet.kc,
      kubelet.core,
      kubelet.kc.makeApiClient(DiscoveryV1Api),
      options.subnet,
      options.apiserverPort,
      () => kubelet.rewriteHosts(),
      kubelet.log,
    );
    await kubelet.services.start();
    await registerNode(kubelet.core, kubelet.coordination, kubelet.nodeName, options.subnet);
    kubelet.leaseTimer = setInterval(() => {
      renewLease(kubelet.coordination, kubelet.nodeName).catch((err: Error) =>
        kubelet.log(`lease: ${err.message}`),
      );
    }, LEASE_RENEW_MS);
    kubelet.claims = await startProvisioner(
      kubelet.kc,
      kubelet.core,
      (namespace, claim) => kubelet.claimDir(namespace, claim),
      kubelet.log,
      () => kubelet.stopped,
    );
    await kubelet.watch();
    return kubelet;
  }

  /** Pods this kubelet runs (or is starting). */
  pods(): RunningPod[] {
    return [...this.runtimes.values()].map((runtime) => ({
      namespace: runtime.pod.metadata?.namespace ?? "",
      name: runtime.pod.metadata?.name ?? "",
      uid: runtime.pod.metadata?.uid ?? "",
      ip: runtime.net?.ip,
      netns: runtime.net?.netns,
      pids: runtime.containers.flatMap((run) => (run.process ? [run.process.pid] : [])),
    }));
  }

  /** Address pods use to reach the apiserver: the `kubernetes` Service's ClusterIP, proxied to loopback. */
  get apiserverForPods(): string {
    return `https://${this.options.subnet.apiServiceIp}:443`;
  }

  /** Rewrites every running pod's /etc/hosts after Services changed. */
  private rewriteHosts(): void {
    for (const runtime of this.runtimes.values())
      if (runtime.net) this.writeHosts(runtime.pod, runtime.net.netns, runtime.net.ip);
  }

  private writeHosts(pod: V1Pod, netns: string, ip: string): void {
    const hosts =
      this.services?.hosts(pod.metadata?.namespace ?? "default", pod.metadata?.name ?? "", ip) ?? "";
    this.options.subnet.writeHosts(netns, hosts);
  }

  /** Stops watching and kills every pod process (SIGTERM, then SIGKILL after `graceSeconds`). */
  async stop(graceSeconds = 5): Promise<void> {
    this.stopped = true;
    clearInterval(this.leaseTimer);
    clearTimeout(this.restartTimer);
    await this.informer?.stop().catch(() => undefined);
    await this.claims?.stop().catch(() => undefined);
    await Promise.allSettled([...this.queues.values()]);
    await Promise.all([...this.runtimes.values()].map((runtime) => runtime.stop(graceSeconds)));
    this.runtimes.clear();
    await this.services?.stop();
  }

  private async watch(): Promise<void> {
    const informer = makeInformer<V1Pod>(this.kc, "/api/v1/pods", () => this.core.listPodForAllNamespaces());
    const handle = (pod: V1Pod) => this.enqueue(pod, () => this.reconcile(pod));
    informer.on("add", handle);
    informer.on("update", handle);
    informer.on("delete", (pod) => this.enqueue(pod, () => this.forget(pod)));
    informer.on("error", (err: unknown) => {
      if (this.stopped) return;
      this.log(`pod watch: ${(err as Error)?.message ?? err}; restarting`);
      this.restartTimer = setTimeout(() => void informer.start().catch(() => undefined), 1000);
    });
    this.informer = informer;
    await informer.start();
  }

  /** Runs `work` after earlier work for the same pod, so one pod's events never interleave. */
  private enqueue(pod: V1Pod, work: () => Promise<void>): void {
    const uid = pod.metadata?.uid ?? "";
    const previous = this.queues.get(uid) ?? Promise.resolve();
    const next = previous
      .then(work)
      .catch((err: Error) => this.log(`${pod.metadata?.namespace}/${pod.metadata?.name}: ${err.message}`));
    this.queues.set(uid, next);
    void next.then(() => {
      if (this.queues.get(uid) === next) this.queues.delete(uid);
    });
  }

  private async reconcile(pod: V1Pod): Promise<void> {
    if (this.stopped) return;
    const uid = pod.metadata?.uid ?? "";
    const name = pod.metadata?.name ?? "";
    const namespace = pod.metadata?.namespace ?? "default";
    const runtime = this.runtimes.get(uid);
    if (runtime) runtime.pod = pod;
    if (!pod.spec?.nodeName) {
      if (!pod.metadata?.deletionTimestamp) await this.bind(namespace, name);
      return;
    }
    if (pod.spec.nodeName !== this.nodeName) return;
    if (pod.metadata?.deletionTimestamp) {
      const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
      if (runtime) {
        this.runtimes.delete(uid);
        await runtime.stop(grace);
        this.log(`${namespace}/${name}: stopped`);
      }
      await this.core
        // With a body, the apiserver ignores query parameters: the grace period must be in the body.
        .deleteNamespacedPod({ name, namespace, body: { gracePeriodSeconds: 0, preconditions: { uid } } })
        .catch((err: { code?: number; message?: string }) => {
          if (err.code !== 404) this.log(`finalise ${namespace}/${name}: ${err.message}`);
        });
      return;
    }
    if (runtime || pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return;
    const created = new PodRuntime(pod, {
      subnet: this.options.subnet,
      sources: this.sources,
      podsDir: join(this.options.dir, "pods"),
      logDir: join(this.options.dir, "logs"),
      claimDir: (ns, claim) => this.claimDir(ns, claim),
      commands: this.options.commands ?? {},
      defaultEntrypoint: this.options.defaultEntrypoint ?? ["chorus"],
      baseEnv: {
        ...(this.options.baseEnv ?? { PATH: process.env.PATH ?? "/usr/bin:/bin" }),
        KUBERNETES_SERVICE_HOST: this.options.subnet.apiServiceIp,
        KUBERNETES_SERVICE_PORT: "443",
      },
      podKubeconfig: (p, dir) => writePodKubeconfig(this.sources, p, dir, this.apiserverForPods),
      writeHosts: (p, net) => this.writeHosts(p, net.netns, net.ip),
      changed: () => this.statusChanged(uid),
      log: this.log,
    });
    this.runtimes.set(uid, created);
    mkdirSync(join(this.options.dir, "logs"), { recursive: true });
    await created.start();
  }

  /** The host directory behind a PersistentVolumeClaim (created on first use). */
  claimDir(namespace: string, claim: string): string {
    const dir = join(this.options.dir, "claims", namespace, claim);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  private async bind(namespace: string, name: string): Promise<void> {
    try {
      await this.core.createNamespacedPodBinding({
        name,
        namespace,
        body: {
          apiVersion: "v1",
          kind: "Binding",
          metadata: { name, namespace },
          target: { apiVersion: "v1", kind: "Node", name: this.nodeName },
        },
      });
    } catch (err) {
      // 409: already bound (another event raced us); anything else is logged and retried on the next event.
      if ((err as { code?: number }).code !== 409)
        this.log(`bind ${namespace}/${name}: ${(err as Error).message}`);
    }
  }

  /** The pod object is gone from the API: kill whatever still runs for it. */
  private async forget(pod: V1Pod): Promise<void> {
    const uid = pod.metadata?.uid ?? "";
    const runtime = this.runtimes.get(uid);
    if (!runtime) return;
    this.runtimes.delete(uid);
    await runtime.stop(0);
  }

  private statusChanged(uid: string): void {
    if (this.dirty.has(uid)) return;
    this.dirty.add(uid);
    const runtime = this.runtimes.get(uid);
    if (!runtime) return;
    this.enqueue(runtime.pod, async () => {
      this.dirty.delete(uid);
      if (this.stopped || this.runtimes.get(uid) !== runtime || runtime.stopping) return;
      await runtime.releaseIfDone();
      const name = runtime.pod.metadata?.name ?? "";
      const namespace = runtime.pod.metadata?.namespace ?? "default";
      await this.core
        .patchNamespacedPodStatus({ name, namespace, body: { status: runtime.status() } }, MERGE)
        .catch((err: Error) => this.log(`status ${namespace}/${name}: ${err.message}`));
    });
  }
}
