import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { V1Container, V1ContainerState, V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
import type { PodNetwork } from "./netns.js";
import { containerEnv, expand, type PodSources, rewritePaths } from "./pod-spec.js";
import { ProbeState, probeOnce } from "./probes.js";
import { execInNetns, type Started, startProcess, stopProcess } from "./processes.js";

/** What starting one container needs. */
export interface ContainerDeps {
  readonly net: PodNetwork;
  readonly dir: string;
  readonly logDir: string;
  readonly sources: PodSources;
  /** Container mount path → host directory. */
  readonly mounts: ReadonlyMap<string, string>;
  readonly kubeconfig: string | undefined;
  readonly commands: Readonly<Record<string, readonly string[]>>;
  readonly defaultEntrypoint: readonly string[];
  readonly baseEnv: Readonly<Record<string, string>>;
  readonly subnet: { readonly gateway: string };
  onChange(): void;
  isStopping(): boolean;
  log(message: string): void;
}

interface Finished {
  exitCode: number;
  reason: string;
  startedAt: string;
  finishedAt: string;
}

const now = () => new Date().toISOString();
const MAX_BACKOFF_MS = 10_000;

/** One container of a pod: a local process in the pod's namespace, restarted per restartPolicy. */
export class ContainerRun {
  process: Started | undefined;
  restartCount = 0;
  ready = false;
  startedAt = "";
  finished: Finished | undefined;
  lastTermination: Finished | undefined;
  backoff: NodeJS.Timeout | undefined;
  probeTimer: NodeJS.Timeout | undefined;
  readiness: ProbeState | undefined;
  liveness: ProbeState | undefined;

  constructor(
    readonly pod: V1Pod,
    readonly container: V1Container,
    readonly argv: readonly string[],
    readonly env: Record<string, string>,
    readonly cwd: string,
    readonly log: string,
    readonly deps: ContainerDeps,
  ) {}

  get name(): string {
    return this.container.name;
  }

  /** The container status the kubelet reports. */
  status(): V1ContainerStatus {
    let state: V1ContainerState;
    if (this.finished) state = { terminated: this.finished as unknown as V1ContainerState["terminated"] };
    else if (this.process) state = { running: { startedAt: this.startedAt as unknown as Date } };
    else state = { waiting: { reason: "CrashLoopBackOff", message: "back-off restarting the process" } };
    return {
      name: this.name,
      image: this.container.image ?? "",
      imageID: "",
      containerID: this.process ? `testenv://${this.deps.net.netns}/${this.process.pid}` : undefined,
      ready: this.ready,
      started: this.process !== undefined,
      restartCount: this.restartCount,
      state,
      ...(this.lastTermination
        ? { lastState: { terminated: this.lastTermination as unknown as V1ContainerState["terminated"] } }
        : {}),
    };
  }

  /** Spawns the process inside the pod's network namespace. */
  spawn(): void {
    this.startedAt = now();
    const started = startProcess(
      this.name,
      "ip",
      ["netns", "exec", this.deps.net.netns, ...this.argv],
      this.log,
      {
        env: this.env,
        cwd: this.cwd,
      },
    );
    this.process = started;
    this.deps.log(
      `${this.pod.metadata?.namespace}/${this.pod.metadata?.name}/${this.name}: pid ${started.pid} in ${this.deps.net.netns} (${this.deps.net.ip})`,
    );
    void started.exited.then((code) => this.exited(started, code));
    this.ready = !this.container.readinessProbe;
    this.readiness = this.container.readinessProbe
      ? new ProbeState(this.container.readinessProbe)
      : undefined;
    this.liveness = this.container.livenessProbe ? new ProbeState(this.container.livenessProbe) : undefined;
    const delay = (this.container.readinessProbe?.initialDelaySeconds ?? 0) * 1000;
    this.probeTimer = setTimeout(() => void this.probe(started), delay);
    this.deps.onChange();
  }

  private async probe(started: Started): Promise<void> {
    if (this.process !== started || this.deps.isStopping()) return;
    const exec = (command: string[], timeoutMs: number) =>
      execInNetns(this.deps.net.netns, command, this.env, this.cwd, timeoutMs);
    const readiness = this.container.readinessProbe;
    if (readiness && this.readiness) {
      const ok = await probeOnce(readiness, this.container, this.deps.net.ip, exec);
      if (this.readiness.record(ok)) {
        this.ready = this.readiness.passing;
        this.deps.onChange();
      }
    }
    const liveness = this.container.livenessProbe;
    if (liveness && this.liveness && this.process === started) {
      const startedMs = Date.parse(this.startedAt);
      if (Date.now() - startedMs >= (liveness.initialDelaySeconds ?? 0) * 1000) {
        this.liveness.record(await probeOnce(liveness, this.container, this.deps.net.ip, exec));
        if (this.liveness.failed) {
          this.deps.log(`${this.pod.metadata?.name}/${this.name}: liveness probe failed; restarting`);
          await stopProcess(started, (this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000);
          return;
        }
      }
    }
    if (this.process !== started) return;
    const periods = [readiness?.periodSeconds, liveness?.periodSeconds].filter(
      (p): p is number => p !== undefined,
    );
    const periodMs = Math.max(1, Math.min(...(periods.length ? periods : [10]))) * 1000;
    this.probeTimer = setTimeout(() => void this.probe(started), periodMs);
  }

  private exited(started: Started, code: number | string): void {
    if (this.process !== started) return;
    clearTimeout(this.probeTimer);
    this.process = undefined;
    this.ready = false;
    const exitCode = typeof code === "number" ? code : 137;
    const termination: Finished = {
      exitCode,
      reason: exitCode === 0 ? "Completed" : "Error",
      startedAt: this.startedAt,
      finishedAt: now(),
    };
    const policy = this.pod.spec?.restartPolicy ?? "Always";
    const restart =
      !this.deps.isStopping() && (policy === "Always" || (policy === "OnFailure" && exitCode !== 0));
    if (restart) {
      this.lastTermination = termination;
      const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(this.restartCount, 4));
      this.restartCount++;
      this.deps.log(`${this.pod.metadata?.name}/${this.name}: exited ${code}; restarting in ${delay} ms`);
      this.backoff = setTimeout(() => {
        if (!this.deps.isStopping()) this.spawn();
      }, delay);
    } else {
      this.finished = termination;
    }
    this.deps.onChange();
  }
}

/** argv for a container: command (or the image entrypoint) mapped to local programs, then args. */
export function containerArgv(
  container: V1Container,
  env: Record<string, string>,
  mounts: ReadonlyMap<string, string>,
  commands: Readonly<Record<string, readonly string[]>>,
  defaultEntrypoint: readonly string[],
): string[] {
  const command = container.command?.length ? container.command : [...defaultEntrypoint];
  const raw = [...command, ...(container.args ?? [])].map((part) => rewritePaths(expand(part, env), mounts));
  const [first = "", ...rest] = raw;
  const mapped = commands[first];
  return mapped ? [...mapped, ...rest] : raw;
}

/** Resolves env, argv and working directory, then starts the container's process. */
export async function startContainer(
  pod: V1Pod,
  container: V1Container,
  deps: ContainerDeps,
): Promise<ContainerRun> {
  const resolved = await containerEnv(pod, container, deps.net.ip, deps.subnet.gateway, deps.sources);
  const env: Record<string, string> = { ...deps.baseEnv, HOSTNAME: pod.metadata?.name ?? "" };
  if (deps.kubeconfig) env.KUBECONFIG = deps.kubeconfig;
  for (const [name, value] of Object.entries(resolved)) env[name] = rewritePaths(value, deps.mounts);
  const argv = containerArgv(container, env, deps.mounts, deps.commands, deps.defaultEntrypoint);
  const home = join(deps.dir, "home");
  mkdirSync(home, { recursive: true });
  env.HOME ??= home;
  const cwd = container.workingDir ? rewritePaths(container.workingDir, deps.mounts) : home;
  mkdirSync(cwd, { recursive: true });
  const run = new ContainerRun(
    pod,
    container,
    argv,
    env,
    cwd,
    join(deps.logDir, `${pod.metadata?.namespace}_${pod.metadata?.name}_${container.name}.log`),
    deps,
  );
  run.spawn();
  return run;
}

/** SIGTERM the container's process group, SIGKILL after the grace period. */
export async function stopContainer(run: ContainerRun, graceSeconds: number): Promise<void> {
  clearTimeout(run.backoff);
  clearTimeout(run.probeTimer);
  const started = run.process;
  if (started) await stopProcess(started, Math.max(0, graceSeconds) * 1000);
}
