import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type {
  V1Container,
  V1ContainerStatus,
  V1Pod,
  V1PodCondition,
  V1PodStatus,
} from "@kubernetes/client-node";
import { type ContainerRun, startContainer, stopContainer } from "./container-run.js";
import type { PodNetwork, PodSubnet } from "./netns.js";
import { ConfigError, type PodSources, rewritePaths, writeVolume } from "./pod-spec.js";

/** What a pod runtime needs from its kubelet. */
export interface RuntimeDeps {
  readonly subnet: PodSubnet;
  readonly sources: PodSources;
  /** Root of the per-pod directories. */
  readonly podsDir: string;
  /** Where container logs go (kept until the test env is torn down). */
  readonly logDir: string;
  /** Host directory that backs a PersistentVolumeClaim. */
  claimDir(namespace: string, claim: string): string;
  /** Maps a container's command[0] to a local argv prefix (e.g. chorus → node …/chorus.mjs). */
  readonly commands: Readonly<Record<string, readonly string[]>>;
  /** Used when a container has no command (the image's entrypoint). */
  readonly defaultEntrypoint: readonly string[];
  /** Environment every pod process starts from. */
  readonly baseEnv: Readonly<Record<string, string>>;
  /** Writes the pod namespace's /etc/hosts (Services by name). */
  writeHosts(pod: V1Pod, net: PodNetwork): void;
  /** Writes a kubeconfig with the pod's ServiceAccount token, or returns undefined. */
  podKubeconfig(pod: V1Pod, dir: string): Promise<string | undefined>;
  /** Asks the kubelet to patch this pod's status soon. */
  changed(): void;
  log(message: string): void;
}

const now = () => new Date().toISOString();

/** One pod on the test node: its network namespace, volumes and container processes. */
export class PodRuntime {
  net: PodNetwork | undefined;
  readonly key: string;
  readonly dir: string;
  readonly containers: ContainerRun[] = [];
  startTime: string | undefined;
  waiting: { reason: string; message: string } | undefined;
  stopping = false;
  private retry: NodeJS.Timeout | undefined;
  private attempts = 0;
  private readonly transitions = new Map<string, { status: string; time: string }>();

  constructor(
    public pod: V1Pod,
    private readonly deps: RuntimeDeps,
  ) {
    this.key = `${pod.metadata?.namespace}/${pod.metadata?.name}/${pod.metadata?.uid}`;
    this.dir = join(deps.podsDir, `${pod.metadata?.namespace}_${pod.metadata?.name}_${pod.metadata?.uid}`);
  }

  /** Makes the namespace, writes the volumes and starts every container; retries config errors. */
  async start(): Promise<void> {
    if (this.stopping) return;
    this.startTime ??= now();
    try {
      this.net ??= await this.deps.subnet.addPod(this.key);
      this.deps.writeHosts(this.pod, this.net);
      const mounts = await this.writeVolumes();
      const kubeconfig = await this.deps.podKubeconfig(this.pod, this.dir);
      for (const container of this.pod.spec?.containers ?? []) {
        if (this.stopping) return;
        const run = await startContainer(this.pod, container, {
          ...this.deps,
          net: this.net,
          dir: this.dir,
          mounts,
          kubeconfig,
          onChange: () => this.deps.changed(),
          isStopping: () => this.stopping,
        });
        this.containers.push(run);
      }
      this.waiting = undefined;
    } catch (err) {
      const reason = err instanceof ConfigError ? "CreateContainerConfigError" : "RunContainerError";
      this.waiting = { reason, message: (err as Error).message };
      this.deps.log(`${this.key}: ${reason}: ${(err as Error).message}`);
      this.attempts++;
      if (!this.stopping && this.containers.length === 0) {
        this.retry = setTimeout(() => void this.start(), Math.min(5000, 500 * this.attempts));
      }
    }
    this.deps.changed();
  }

  /**
   * Writes every volume and returns the container mount paths → host directories. The host
   * directories are known before anything is written, so ConfigMap files get the same path
   * rewriting as args and env (a config file naming /etc/chorus-tls/tls.crt finds the Secret).
   */
  private async writeVolumes(): Promise<Map<string, string>> {
    const ip = this.net?.ip ?? "";
    const namespace = this.pod.metadata?.namespace ?? "default";
    const volumes = this.pod.spec?.volumes ?? [];
    const volumeDirs = new Map(
      volumes.map((volume) => [
        volume.name,
        volume.persistentVolumeClaim
          ? this.deps.claimDir(namespace, volume.persistentVolumeClaim.claimName)
          : join(this.dir, "volumes", volume.name),
      ]),
    );
    // Mount paths of all containers (the same volume may be mounted at different paths).
    const mounts = new Map<string, string>();
    for (const container of this.pod.spec?.containers ?? []) {
      for (const mount of container.volumeMounts ?? []) {
        const dir = volumeDirs.get(mount.name);
        if (dir)
          mounts.set(mount.mountPath.replace(/\/+$/, ""), mount.subPath ? join(dir, mount.subPath) : dir);
      }
    }
    for (const volume of volumes) {
      await writeVolume(
        this.pod,
        volume,
        volumeDirs.get(volume.name) ?? join(this.dir, "volumes", volume.name),
        ip,
        this.deps.subnet.gateway,
        this.deps.sources,
        (claim) => this.deps.claimDir(namespace, claim),
        (text) => rewritePaths(text, mounts),
      );
    }
    return mounts;
  }

  /** SIGTERM every container, SIGKILL after `graceSeconds`, then remove the namespace and files. */
  async stop(graceSeconds: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retry);
    await Promise.all(this.containers.map((run) => stopContainer(run, graceSeconds)));
    await this.deps.subnet.removePod(this.key);
    this.net = undefined;
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Releases the namespace once every container has finished for good (Succeeded/Failed). */
  async releaseIfDone(): Promise<void> {
    const phase = this.phase();
    if ((phase === "Succeeded" || phase === "Failed") && this.net) {
      await this.deps.subnet.removePod(this.key);
    }
  }

  /** Pod phase from the container states. */
  phase(): string {
    if (this.containers.length === 0 || this.containers.length < (this.pod.spec?.containers.length ?? 0)) {
      return "Pending";
    }
    if (this.containers.every((run) => run.finished)) {
      return this.containers.every((run) => run.finished?.exitCode === 0) ? "Succeeded" : "Failed";
    }
    return "Running";
  }

  private condition(type: string, ok: boolean): V1PodCondition {
    const status = ok ? "True" : "False";
    const last = this.transitions.get(type);
    if (!last || last.status !== status) this.transitions.set(type, { status, time: now() });
    return {
      type,
      status,
      lastProbeTime: null as unknown as undefined,
      lastTransitionTime: this.transitions.get(type)?.time as unknown as Date,
    };
  }

  /** The pod status the kubelet reports. */
  status(): V1PodStatus {
    const phase = this.phase();
    const ready = phase === "Running" && this.containers.every((run) => run.ready);
    const statuses: V1ContainerStatus[] = (this.pod.spec?.containers ?? []).map((container: V1Container) => {
      const run = this.containers.find((r) => r.name === container.name);
      return run
        ? run.status()
        : waitingStatus(container, this.waiting ?? { reason: "ContainerCreating", message: "" });
    });
    const ip = this.net?.ip;
    return {
      phase,
      hostIP: this.deps.subnet.gateway,
      hostIPs: [{ ip: this.deps.subnet.gateway }],
      ...(ip ? { podIP: ip, podIPs: [{ ip }] } : {}),
      startTime: this.startTime as unknown as Date,
      conditions: [
        this.condition("PodScheduled", true),
        this.condition("PodReadyToStartContainers", this.net !== undefined),
        this.condition("Initialized", true),
        this.condition("ContainersReady", ready),
        this.condition("Ready", ready),
      ],
      containerStatuses: statuses,
    };
  }
}

function waitingStatus(
  container: V1Container,
  waiting: { reason: string; message: string },
): V1ContainerStatus {
  return {
    name: container.name,
    image: container.image ?? "",
    imageID: "",
    ready: false,
    started: false,
    restartCount: 0,
    state: { waiting },
  };
}

/** Writes `content` to `dir/name` (creating dir) and returns the path. */
export function writeInto(dir: string, name: string, content: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}
