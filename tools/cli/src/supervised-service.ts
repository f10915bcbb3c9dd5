import { type ChildProcess, fork } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import type { SupervisedServiceReport } from "@chorus/shared";
import { RestartBudget, type RestartPolicy } from "./restart-budget.js";

/** How to start one service process. */
export interface ServiceLaunch {
  readonly name: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Node flags: this process's own, then the configured heap bound. */
  readonly execArgv: readonly string[];
  /** Where its output goes (`<logDir>/<name>.log`); undefined: this terminal. */
  readonly logDir: string | undefined;
}

/** What a supervised service tells the mesh about itself. */
export interface SupervisionHooks {
  /** A line for the log: a death, a restart, a failed restart. */
  notice(line: string): void;
  /** The service crash-looped; it stays down. */
  crashLoop(message: string): void;
  /** It started, died or came back: its pid or state changed. */
  changed(): void;
}

/** Where a ready service listens: its address, and its /metrics port when it has one. */
export interface ServiceReady {
  readonly address: string;
  readonly metricsPort?: number | undefined;
}

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

function exitOf(code: number | null, signal: string | null): string {
  return signal ?? `code ${code}`;
}

/** The port of `host:port` or of a URL. */
export function portOf(address: string): number {
  const port = address.includes("://") ? new URL(address).port : address.slice(address.lastIndexOf(":") + 1);
  return Number(port);
}

/**
 * One service process of the mesh, restarted when it dies: after a backoff that grows with its
 * recent crashes, on the port (and metrics port) it first bound, so peers and clients reconnect to
 * the same address; a crash beyond the budget is a crash loop, reported and not restarted.
 */
export class SupervisedService {
  private child: ChildProcess | undefined;
  private first: ServiceReady | undefined;
  private running = false;
  private stopping = false;
  private restarts = 0;
  private lastExit: string | undefined;
  private lastRestartMs: number | undefined;
  private downSince: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly budget: RestartBudget;

  constructor(
    private readonly launch: ServiceLaunch,
    private readonly policy: RestartPolicy,
    private readonly hooks: SupervisionHooks,
  ) {
    this.budget = new RestartBudget(policy);
  }

  get name(): string {
    return this.launch.name;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** The live process, to send it a message. */
  get process(): ChildProcess | undefined {
    return this.running ? this.child : undefined;
  }

  /** Starts the service; resolves when it is ready, rejects when it dies or hangs first (no restart then). */
  async start(): Promise<ServiceReady> {
    try {
      this.first = await this.spawn([]);
    } catch (err) {
      throw new Error(`${this.name} ${(err as Error).message}${this.logHint()}`);
    }
    return this.first;
  }

  /** Its state for the orchestrator's GetStatus. */
  report(): SupervisedServiceReport {
    return {
      name: this.name,
      pid: this.pid,
      running: this.running,
      restarts: this.restarts,
      lastExit: this.lastExit,
      lastRestartMs: this.lastRestartMs,
    };
  }

  /** Stops supervising and stops the process: SIGTERM, then SIGKILL after a grace period. */
  stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    const child = this.child;
    return new Promise((resolve) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
      child.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill("SIGTERM");
    });
  }

  private logHint(): string {
    return this.launch.logDir ? ` (see ${join(this.launch.logDir, `${this.name}.log`)})` : "";
  }

  private spawn(extraArgs: readonly string[]): Promise<ServiceReady> {
    const { name, args, env, execArgv, logDir } = this.launch;
    const output = logDir ? openSync(join(logDir, `${name}.log`), "a") : "inherit";
    const child = fork(process.argv[1] ?? "", [...args, ...extraArgs], {
      env,
      execArgv: [...execArgv],
      stdio: ["ignore", output, output, "ipc"],
    });
    // The child holds its own copy of the log file.
    if (typeof output === "number") closeSync(output);
    this.child = child;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`did not become ready in ${READY_TIMEOUT_MS} ms`));
      }, READY_TIMEOUT_MS);
      const early = (code: number | null, signal: string | null) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${exitOf(code, signal)} before it was ready`));
      };
      child.once("exit", early);
      child.on("message", (message: { type?: string; address?: unknown; metricsPort?: unknown }) => {
        if (message?.type !== "ready" || typeof message.address !== "string") return;
        clearTimeout(timer);
        child.off("exit", early);
        child.once("exit", (code, signal) => this.died(child, exitOf(code, signal)));
        this.running = true;
        const metricsPort = typeof message.metricsPort === "number" ? message.metricsPort : undefined;
        resolve({ address: message.address, metricsPort });
      });
    });
  }

  private died(child: ChildProcess, how: string): void {
    if (this.stopping || child !== this.child) return;
    this.running = false;
    this.lastExit = how;
    this.downSince ??= Date.now();
    const wait = this.budget.crash(Date.now());
    const { maxRestarts, windowMs } = this.policy;
    this.hooks.changed();
    if (wait === undefined) {
      this.hooks.crashLoop(
        `${this.name} crashed ${this.budget.recent} times within ${windowMs / 1000} s ` +
          `(supervisor.crash_loop_restarts: ${maxRestarts}); last: ${how}${this.logHint()}`,
      );
      return;
    }
    this.hooks.notice(
      `${this.name} died (${how}); restarting in ${wait} ms ` +
        `(crash ${this.budget.recent} of at most ${maxRestarts} in ${windowMs / 1000} s)`,
    );
    this.timer = setTimeout(() => void this.restart(), wait);
  }

  // The same port (and metrics port) as the first start, so its address does not change.
  private sameAddressArgs(): string[] {
    const first = this.first;
    if (!first) return [];
    const metrics = first.metricsPort !== undefined ? ["--metrics-port", String(first.metricsPort)] : [];
    return ["--port", String(portOf(first.address)), ...metrics];
  }

  private async restart(): Promise<void> {
    if (this.stopping) return;
    this.restarts += 1;
    try {
      const ready = await this.spawn(this.sameAddressArgs());
      this.lastRestartMs = Date.now() - (this.downSince ?? Date.now());
      this.downSince = undefined;
      this.hooks.notice(
        `${this.name} restarted at ${ready.address} (pid ${this.child?.pid}), ${this.lastRestartMs} ms after it died`,
      );
      this.hooks.changed();
    } catch (err) {
      const child = this.child;
      if (child) this.died(child, (err as Error).message);
    }
  }
}
