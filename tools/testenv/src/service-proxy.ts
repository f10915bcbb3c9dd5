import { createConnection, createServer, type Server, type Socket } from "node:net";
import {
  type CoreV1Api,
  type DiscoveryV1Api,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  makeInformer,
  type ObjectCache,
  type V1EndpointSlice,
  type V1Service,
  type V1ServicePort,
} from "@kubernetes/client-node";
import type { PodSubnet } from "./netns.js";

interface Listener {
  readonly port: V1ServicePort;
  readonly server: Server;
  /** Both ends of every connection relayed through this listener, destroyed with it. */
  readonly sockets: Set<Socket>;
}

interface ProxiedService {
  readonly namespace: string;
  readonly name: string;
  readonly clusterIp: string;
  readonly listeners: Map<number, Listener>;
  next: number;
}

type Watched<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

/** A headless Service (clusterIP None): its name resolves to its ready endpoints, no proxy. */
interface HeadlessService {
  readonly namespace: string;
  readonly name: string;
  /** The hosts lines last written for it, to rewrite pods' hosts files only when they change. */
  addresses: string;
}

/**
 * A userspace stand-in for kube-proxy and cluster DNS: each Service's ClusterIP (from the
 * subnet's .128/25) goes on the bridge, the host listens on ClusterIP:port and forwards each TCP
 * connection to a ready endpoint from the Service's EndpointSlices (round-robin); `hosts()`
 * gives the /etc/hosts lines that name the Services inside pods. A headless Service's names
 * resolve, as cluster DNS does, to every ready endpoint of its EndpointSlices (one hosts line each,
 * and glibc returns them all).
 */
export class ServiceProxy {
  private readonly services = new Map<string, ProxiedService>();
  private readonly headless = new Map<string, HeadlessService>();
  private serviceInformer: Watched<V1Service> | undefined;
  private sliceInformer: Watched<V1EndpointSlice> | undefined;
  private stopped = false;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly kc: KubeConfig,
    private readonly core: CoreV1Api,
    private readonly discovery: DiscoveryV1Api,
    private readonly subnet: PodSubnet,
    private readonly apiserverPort: number,
    private readonly changed: () => void,
    private readonly log: (message: string) => void,
  ) {}

  /** Starts watching Services and EndpointSlices. */
  async start(): Promise<void> {
    this.sliceInformer = makeInformer<V1EndpointSlice>(
      this.kc,
      "/apis/discovery.k8s.io/v1/endpointslices",
      () => this.discovery.listEndpointSliceForAllNamespaces(),
    ) as Watched<V1EndpointSlice>;
    this.serviceInformer = makeInformer<V1Service>(this.kc, "/api/v1/services", () =>
      this.core.listServiceForAllNamespaces(),
    ) as Watched<V1Service>;
    const serially = (work: () => Promise<void>) => {
      this.queue = this.queue.then(work).catch((err: Error) => this.log(`service proxy: ${err.message}`));
    };
    this.serviceInformer.on("add", (svc) => serially(() => this.sync(svc)));
    this.serviceInformer.on("update", (svc) => serially(() => this.sync(svc)));
    this.serviceInformer.on("delete", (svc) => serially(() => this.remove(key(svc))));
    // The informer's cache holds the change before its handlers run.
    for (const event of ["add", "update", "delete"] as const)
      this.sliceInformer.on(event, (slice) => this.endpointsChanged(slice));
    this.restartOnError(this.sliceInformer);
    this.restartOnError(this.serviceInformer);
    await this.sliceInformer.start();
    await this.serviceInformer.start();
  }

  private restartOnError<T extends KubernetesObject>(informer: Informer<T>): void {
    informer.on("error", (err: unknown) => {
      if (this.stopped) return;
      this.log(`service proxy watch: ${(err as Error)?.message ?? err}; restarting`);
      setTimeout(() => {
        if (!this.stopped) void informer.start().catch(() => undefined);
      }, 1000);
    });
  }

  /** Stops watching and closes every listener (the bridge takes the addresses with it). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.serviceInformer?.stop().catch(() => undefined);
    await this.sliceInformer?.stop().catch(() => undefined);
    await this.queue;
    for (const id of [...this.services.keys()]) await this.remove(id);
  }

  /** /etc/hosts for a pod: every Service by FQDN, and by short name within the pod's namespace. */
  hosts(namespace: string, podName: string, podIp: string): string {
    const lines = ["127.0.0.1 localhost", `${podIp} ${podName}`];
    for (const svc of this.services.values()) {
      lines.push(`${svc.clusterIp} ${serviceNames(svc, namespace).join(" ")}`);
    }
    for (const svc of this.headless.values()) {
      const names = serviceNames(svc, namespace);
      for (const address of this.readyAddresses(svc)) lines.push(`${address} ${names.join(" ")}`);
    }
    return `${lines.join("\n")}\n`;
  }

  /** Every ready endpoint address of a Service's EndpointSlices (any port). */
  private readyAddresses(svc: { namespace: string; name: string }): string[] {
    const addresses = new Set<string>();
    for (const slice of this.sliceInformer?.list(svc.namespace) ?? []) {
      if (slice.metadata?.labels?.["kubernetes.io/service-name"] !== svc.name) continue;
      for (const endpoint of slice.endpoints ?? []) {
        if (endpoint.conditions?.ready === false) continue;
        for (const address of endpoint.addresses) addresses.add(address);
      }
    }
    return [...addresses].sort();
  }

  /** Rewrites pods' hosts files when a headless Service's ready endpoints changed. */
  private endpointsChanged(slice: V1EndpointSlice): void {
    const name = slice.metadata?.labels?.["kubernetes.io/service-name"];
    const svc = this.headless.get(`${slice.metadata?.namespace}/${name}`);
    if (!svc || this.stopped) return;
    const addresses = this.readyAddresses(svc).join(" ");
    if (addresses === svc.addresses) return;
    svc.addresses = addresses;
    this.changed();
  }

  private async sync(svc: V1Service): Promise<void> {
    if (this.stopped) return;
    const clusterIp = svc.spec?.clusterIP ?? "";
    if (clusterIp === "None") {
      const id = key(svc);
      if (this.headless.has(id)) return;
      const headless: HeadlessService = {
        namespace: svc.metadata?.namespace ?? "default",
        name: svc.metadata?.name ?? "",
        addresses: "",
      };
      headless.addresses = this.readyAddresses(headless).join(" ");
      this.headless.set(id, headless);
      this.changed();
      return;
    }
    const prefix = this.subnet.serviceCidr.replace(/\d+\/25$/, "");
    if (!clusterIp.startsWith(prefix)) return; // not ours
    const id = key(svc);
    let proxied = this.services.get(id);
    if (!proxied) {
      await this.subnet.addAddress(clusterIp);
      proxied = {
        namespace: svc.metadata?.namespace ?? "default",
        name: svc.metadata?.name ?? "",
        clusterIp,
        listeners: new Map(),
        next: 0,
      };
      this.services.set(id, proxied);
      this.changed();
    }
    const ports = (svc.spec?.ports ?? []).filter((p) => (p.protocol ?? "TCP") === "TCP");
    for (const [port, listener] of proxied.listeners) {
      if (!ports.some((p) => p.port === port)) {
        closeListener(listener);
        proxied.listeners.delete(port);
      }
    }
    for (const port of ports) {
      if (proxied.listeners.has(port.port)) continue;
      proxied.listeners.set(port.port, await this.listen(proxied, port));
    }
  }

  private listen(svc: ProxiedService, port: V1ServicePort): Promise<Listener> {
    const sockets = new Set<Socket>();
    const track = (socket: Socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
    };
    const server = createServer((socket) => {
      const target = this.pick(svc, port);
      if (!target) {
        socket.destroy();
        return;
      }
      const upstream = createConnection(target);
      track(socket);
      track(upstream);
      socket.pipe(upstream).pipe(socket);
      socket.on("error", () => upstream.destroy());
      upstream.on("error", () => socket.destroy());
      socket.once("close", () => upstream.destroy());
      upstream.once("close", () => socket.destroy());
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port.port, svc.clusterIp, () => resolve({ port, server, sockets }));
    });
  }

  /** A ready endpoint for the Service port, round-robin; the `kubernetes` Service is the apiserver. */
  private pick(svc: ProxiedService, port: V1ServicePort): { host: string; port: number } | undefined {
    if (svc.namespace === "default" && svc.name === "kubernetes")
      return { host: "127.0.0.1", port: this.apiserverPort };
    const targets: { host: string; port: number }[] = [];
    for (const slice of this.sliceInformer?.list(svc.namespace) ?? []) {
      if (slice.metadata?.labels?.["kubernetes.io/service-name"] !== svc.name) continue;
      const slicePort = slice.ports?.find((p) => (p.name ?? "") === (port.name ?? ""));
      if (!slicePort?.port) continue;
      for (const endpoint of slice.endpoints ?? []) {
        if (endpoint.conditions?.ready === false) continue;
        for (const address of endpoint.addresses) targets.push({ host: address, port: slicePort.port });
      }
    }
    if (targets.length === 0) return undefined;
    svc.next = (svc.next + 1) % targets.length;
    return targets[svc.next];
  }

  private async remove(id: string): Promise<void> {
    if (this.headless.delete(id)) this.changed();
    const svc = this.services.get(id);
    if (!svc) return;
    this.services.delete(id);
    for (const listener of svc.listeners.values()) closeListener(listener);
    await this.subnet.removeAddress(svc.clusterIp);
    this.changed();
  }
}

/** Stops accepting and ends every relayed connection, so nothing outlives the Service. */
function closeListener(listener: Listener): void {
  listener.server.close();
  for (const socket of listener.sockets) socket.destroy();
  listener.sockets.clear();
}

/** A Service's names in a pod's hosts file: FQDN, svc.ns.svc, svc.ns, and the short name in its own namespace. */
function serviceNames(svc: { namespace: string; name: string }, podNamespace: string): string[] {
  const names = [`${svc.name}.${svc.namespace}.svc.cluster.local`, `${svc.name}.${svc.namespace}.svc`];
  names.push(`${svc.name}.${svc.namespace}`);
  if (svc.namespace === podNamespace) names.push(svc.name);
  return names;
}

function key(svc: V1Service): string {
  return `${svc.metadata?.namespace}/${svc.metadata?.name}`;
}
