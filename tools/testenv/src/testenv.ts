import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { REPO_ROOT, requireBinaries } from "./binaries.js";
import { type ControlPlane, startControlPlane } from "./control-plane.js";
import { TestKubelet } from "./kubelet.js";
import { PodSubnet, requireRoot } from "./netns.js";
import { signalGroup } from "./processes.js";
import { reapStale, writeOwner } from "./stale.js";

/** Options of `up`. */
export interface UpOptions {
  /** Where the binaries are; default the versioned cache (see build.sh). */
  readonly binDir?: string;
  /** command[0] → local argv; merged over the default `chorus` → node <repo>/tools/cli/dist/chorus.mjs. */
  readonly commands?: Readonly<Record<string, readonly string[]>>;
  /** Extra environment for every pod process. */
  readonly podEnv?: Readonly<Record<string, string>>;
  /** Progress and kubelet messages. */
  readonly log?: (message: string) => void;
  /** Milliseconds to wait for each control-plane component; default 90 s. */
  readonly timeoutMs?: number;
  /**
   * On SIGINT/SIGTERM/SIGHUP kill everything `up` started and re-raise the signal (default true);
   * set false when the caller handles signals and calls `down` itself.
   */
  readonly cleanupOnSignal?: boolean;
}

const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** A running test control plane with its kubelet. */
export interface TestEnv {
  /** Temp directory holding certs, etcd data, logs (logs/…) and pod dirs. */
  readonly dir: string;
  /** Admin kubeconfig path; `KUBECONFIG=<this> kubectl …` works. */
  readonly kubeconfig: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  readonly binDir: string;
  /** A KubeConfig loaded from `kubeconfig`. */
  readonly kc: KubeConfig;
  readonly kubelet: TestKubelet;
  /** The pods' /24 and the host's address on its bridge (pods reach host services there). */
  readonly podCidr: string;
  readonly hostIp: string;
  /** PIDs of etcd, kube-apiserver and kube-controller-manager. */
  readonly controlPlanePids: readonly number[];
  /** Runs kubectl, helm or grpcurl from the bin dir with KUBECONFIG set. */
  tool(
    name: "kubectl" | "helm" | "grpcurl",
    args: readonly string[],
    options?: { timeoutMs?: number; input?: string },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
}

interface Internals {
  readonly controlPlane: ControlPlane;
  readonly subnet: PodSubnet;
  readonly unhook: () => void;
}

const internals = new WeakMap<TestEnv, Internals>();

/** The default mapping of the image entrypoint `chorus` to the local CLI bundle ($CHORUS_TESTENV_CHORUS overrides). */
export function defaultCommands(): Record<string, string[]> {
  const override = process.env.CHORUS_TESTENV_CHORUS?.trim();
  return {
    chorus: override
      ? override.split(/\s+/)
      : [process.execPath, join(REPO_ROOT, "tools/cli/dist/chorus.mjs")],
  };
}

/**
 * Starts etcd, kube-apiserver (RBAC) and kube-controller-manager on loopback, a pod bridge on a
 * private 10.231.<n>.0/24, and the test kubelet. Throws saying root is needed when not root,
 * and naming the build command when the binaries are missing. Call `down` to stop everything it started.
 */
export async function up(options: UpOptions = {}): Promise<TestEnv> {
  requireRoot();
  const bin = requireBinaries(options.binDir);
  const log = options.log ?? (() => undefined);
  for (const dir of reapStale()) log(`removed a test env whose owner died: ${dir}`);
  const dir = mkdtempSync(join(tmpdir(), "chorus-testenv-"));
  let subnet: PodSubnet | undefined;
  let controlPlane: ControlPlane | undefined;
  let kubelet: TestKubelet | undefined;
  const pids = () => [
    ...(controlPlane?.processes.map((p) => p.pid) ?? []),
    ...(kubelet?.pods().flatMap((p) => p.pids) ?? []),
  ];
  // Last resort if the test process exits without `down`: kill what we started, drop the bridge.
  const onExit = () => {
    for (const pid of pids()) signalGroup(pid, "SIGKILL");
    for (const pod of subnet?.pods() ?? []) {
      try {
        execFileSync("ip", ["netns", "del", pod.netns], { stdio: "ignore" });
      } catch {}
      rmSync(join("/etc/netns", pod.netns), { recursive: true, force: true });
    }
    if (subnet) {
      try {
        execFileSync("ip", ["link", "del", subnet.bridge], { stdio: "ignore" });
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // A test runner that gives up on a file signals it: clean up, then die of the same signal.
  const onSignal = (signal: NodeJS.Signals) => {
    onExit();
    process.kill(process.pid, signal);
  };
  process.once("exit", onExit);
  if (options.cleanupOnSignal !== false) for (const s of SIGNALS) process.once(s, onSignal);
  const unhook = () => {
    process.removeListener("exit", onExit);
    for (const s of SIGNALS) process.removeListener(s, onSignal);
  };
  try {
    subnet = await PodSubnet.create();
    log(`pod subnet ${subnet.cidr} on ${subnet.bridge}`);
    const owner = { ownerPid: process.pid, bridge: subnet.bridge, netnsPrefix: `chorus-${subnet.index}-` };
    writeOwner(dir, { ...owner, pids: [] });
    controlPlane = await startControlPlane(
      bin,
      dir,
      { extraIps: [subnet.gateway, subnet.apiServiceIp], serviceCidr: subnet.serviceCidr },
      options.timeoutMs,
    );
    writeOwner(dir, { ...owner, pids: controlPlane.processes.map((p) => p.pid) });
    log(`apiserver ${controlPlane.server}`);
    kubelet = await TestKubelet.start({
      kubeconfig: controlPlane.kubeconfig,
      apiserverPort: controlPlane.apiserverPort,
      caCertPem: readFileSync(controlPlane.pki.caCert, "utf8"),
      subnet,
      dir,
      commands: { ...defaultCommands(), ...options.commands },
      baseEnv: {
        PATH: [bin, dirname(process.execPath), process.env.PATH ?? "/usr/bin:/bin"].join(":"),
        ...(process.env.LANG ? { LANG: process.env.LANG } : {}),
        ...options.podEnv,
      },
      log,
    });
  } catch (err) {
    await kubelet?.stop(0).catch(() => undefined);
    await controlPlane?.stop().catch(() => undefined);
    await subnet?.destroy().catch(() => undefined);
    unhook();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const kc = new KubeConfig();
  kc.loadFromFile(controlPlane.kubeconfig);
  const kubeconfig = controlPlane.kubeconfig;
  const env: TestEnv = {
    dir,
    kubeconfig,
    server: controlPlane.server,
    binDir: bin,
    kc,
    kubelet,
    podCidr: subnet.cidr,
    hostIp: subnet.gateway,
    controlPlanePids: controlPlane.processes.map((p) => p.pid),
    tool: (name, args, opts = {}) => runTool(join(bin, name), args, kubeconfig, opts),
  };
  internals.set(env, { controlPlane, subnet, unhook });
  return env;
}

/** Stops the kubelet's pods, the control plane and the bridge (only what `up` started), and removes the temp dir. */
export async function down(env: TestEnv, options: { keepDir?: boolean } = {}): Promise<void> {
  const own = internals.get(env);
  if (!own) return;
  internals.delete(env);
  await env.kubelet.stop(5);
  await own.controlPlane.stop();
  await own.subnet.destroy();
  own.unhook();
  if (!options.keepDir) rmSync(env.dir, { recursive: true, force: true });
}

function runTool(
  path: string,
  args: readonly string[],
  kubeconfig: string,
  options: { timeoutMs?: number; input?: string },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      path,
      [...args],
      {
        env: { ...process.env, KUBECONFIG: kubeconfig },
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}
