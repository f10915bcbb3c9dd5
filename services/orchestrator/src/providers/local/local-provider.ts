import { type ChildProcess, fork } from "node:child_process";
import { availableParallelism } from "node:os";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "@chorus/proto";
import { type ClientTransport, createClient, type Logger } from "@chorus/shared";
import type { BlockEvent, BlockState } from "../block-event.js";
import type { Provider, ProviderRoom } from "../provider.js";
import { CpuGate, type CpuLoad } from "./cpu-gate.js";

/** How to start one agent process: a Node module run with `fork`, plus its arguments. */
export interface AgentCommand {
  readonly modulePath: string;
  /** Arguments before the per-block ones (`--agent`, `--replica-id`). */
  readonly args: readonly string[];
  readonly execArgv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

interface LocalBlock {
  readonly id: string;
  readonly pool: string;
  readonly child: ChildProcess;
  state: BlockState;
  cancelled: boolean;
  startTimer: NodeJS.Timeout | undefined;
}

/** The most agent processes strategies may grow to on this host, and how that number came about. */
export interface HostLimit {
  readonly maxBlocks: number;
  readonly source: string;
  /** No new process while the host's CPUs are at least `max` busy (`busy` in 0–1), few at a time otherwise. */
  readonly cpu?: CpuLoad | undefined;
}

/** Agent processes per CPU when provider.local.max_agent_blocks is 0: a bound on memory, not on CPU. */
const PROCESSES_PER_CPU = 8;

/** provider.local.max_agent_blocks, or for 0 eight agent processes per CPU this process may use. */
export function hostLimit(configured: number, cpus = availableParallelism()): HostLimit {
  if (configured > 0) return { maxBlocks: configured, source: "provider.local.max_agent_blocks" };
  return {
    maxBlocks: PROCESSES_PER_CPU * cpus,
    source: `${PROCESSES_PER_CPU} per CPU: ${cpus} CPUs (provider.local.max_agent_blocks 0)`,
  };
}

/** Runs each block as a `chorus agent` child process on a free loopback port. */
export class LocalProvider implements Provider {
  readonly name = "local";
  private readonly blocks = new Map<string, LocalBlock>();
  private readonly listeners: Array<(event: BlockEvent) => void> = [];
  private sequence = 0;
  private readonly gate: CpuGate | undefined;

  constructor(
    private readonly command: AgentCommand,
    private readonly startTimeoutMs: number,
    private readonly log: Logger,
    /** mTLS to the replicas it starts, for its health probe (absent: plaintext). */
    private readonly transport?: ClientTransport | undefined,
    /** Agent processes strategies may grow to on this host (absent: no limit). */
    private readonly limit?: HostLimit | undefined,
  ) {
    this.gate = limit?.cpu ? new CpuGate(limit.cpu, availableParallelism()) : undefined;
  }

  /**
   * Room under the host limit: agent processes that have not exited count, stopping ones too; none
   * while the host's CPUs are busy, where another process would only share them (a pool waiting on
   * a slow model leaves them idle, so it still grows), and a few at a time until their load shows.
   */
  room(): ProviderRoom {
    const { maxBlocks, source } = this.limit ?? { maxBlocks: Number.POSITIVE_INFINITY, source: "no limit" };
    const running = this.blocks.size;
    const counted = {
      blocks: Math.max(0, maxBlocks - running),
      limit: `this host runs at most ${maxBlocks} agent processes, ${source}; ${running} run`,
    };
    const cpu = this.gate?.room();
    if (!cpu || cpu.blocks >= counted.blocks) return counted;
    return { blocks: cpu.blocks, limit: `${cpu.limit}; ${running} run` };
  }

  onEvent(listener: (event: BlockEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(block: LocalBlock, state: BlockState, address?: string, detail?: string): void {
    block.state = state;
    for (const listener of this.listeners)
      listener({ blockId: block.id, pool: block.pool, state, address, detail });
  }

  launch(pool: string, count: number): string[] {
    this.gate?.launched(count);
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) {
      this.sequence += 1;
      const id = `${pool}-${process.pid}-${this.sequence}`;
      ids.push(id);
      this.start(pool, id);
    }
    return ids;
  }

  private start(pool: string, id: string): void {
    const child = fork(this.command.modulePath, [...this.command.args, "--agent", pool, "--replica-id", id], {
      execArgv: [...this.command.execArgv],
      env: this.command.env,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const block: LocalBlock = { id, pool, child, state: "PENDING", cancelled: false, startTimer: undefined };
    this.blocks.set(id, block);
    this.emit(block, "PENDING");
    block.startTimer = setTimeout(() => {
      if (block.state !== "PENDING") return;
      this.log.warn({ block: id }, "agent did not become ready in time; killing it");
      child.kill("SIGKILL");
    }, this.startTimeoutMs);
    child.on("message", (message: { type?: string; address?: string }) => {
      if (message?.type === "ready" && typeof message.address === "string") {
        this.confirmServing(block, message.address);
      }
    });
    child.on("exit", (code, signal) => {
      clearTimeout(block.startTimer);
      this.blocks.delete(id);
      const state: BlockState = block.cancelled ? "CANCELLED" : "FAILED";
      this.emit(block, state, undefined, `exited with ${signal ?? `code ${code}`}`);
    });
    child.on("error", (err) => this.log.error({ err, block: id }, "agent process error"));
  }

  private async confirmServing(block: LocalBlock, address: string): Promise<void> {
    const health = createClient(Health, address, {}, this.transport);
    try {
      const response = await health.check({ service: "" }, { deadline: new Date(Date.now() + 5000) });
      if (response.status !== Serving.SERVING) throw new Error(`health status ${response.status}`);
      clearTimeout(block.startTimer);
      if (block.state === "PENDING") this.emit(block, "RUNNING", address);
    } catch (err) {
      this.log.warn({ err, block: block.id }, "agent failed its first health check; killing it");
      block.child.kill("SIGKILL");
    } finally {
      health.close();
    }
  }

  async cancel(blockIds: readonly string[]): Promise<void> {
    await Promise.all(blockIds.map((id) => this.stop(id)));
  }

  private stop(id: string, graceMs = 5000): Promise<void> {
    const block = this.blocks.get(id);
    if (!block) return Promise.resolve();
    block.cancelled = true;
    return new Promise((resolve) => {
      const kill = setTimeout(() => block.child.kill("SIGKILL"), graceMs);
      block.child.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      block.child.kill("SIGTERM");
    });
  }

  /** Kills a hung agent process: its exit is reported FAILED, so the scaler replaces it. */
  fail(blockId: string, reason: string): void {
    const block = this.blocks.get(blockId);
    if (!block || block.cancelled) return;
    this.log.warn({ block: blockId, reason }, "agent process stopped answering; killing it");
    // SIGKILL ends a stopped (SIGSTOP) process too; SIGTERM would wait for it to run again.
    block.child.kill("SIGKILL");
  }

  /** Process ids of the running agent processes, by block id. */
  pids(): Map<string, number | undefined> {
    return new Map([...this.blocks].map(([id, block]) => [id, block.child.pid]));
  }

  async close(): Promise<void> {
    await Promise.all([...this.blocks.keys()].map((id) => this.stop(id)));
  }
}
