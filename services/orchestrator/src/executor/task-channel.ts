import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  AgentService,
  GenerateResponse,
  TaskChannelRequestSchema,
  TaskChannelResponse,
} from "@chorus/proto";
import { type BidiCall, detailsOf, type Logger, type PromiseClient, RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { type ChannelTaskRequest, PendingTask, ReplicaLostError, taskError } from "./channel-task.js";

/** How a task channel watches its replica. */
export interface ChannelSettings {
  /** How often a heartbeat goes down the channel. */
  readonly heartbeatMs: number;
  /** A replica from which nothing arrives for this long is lost: its tasks fail over and it is replaced. */
  readonly heartbeatTimeoutMs: number;
}

/** What a task channel tells its pool. */
export interface ChannelEvents {
  /** The replica may take more tasks (the channel opened, or it reported free slots). */
  credit(): void;
  /** The replica stopped answering heartbeats; `reason` says for how long. */
  lost(reason: string): void;
  /** Whether a broken channel should be opened again (false once the block drains or ends). */
  wanted(): boolean;
}

type Request = MessageInitShape<typeof TaskChannelRequestSchema>;

const RECONNECT_MIN_MS = 50;
const RECONNECT_MAX_MS = 2000;

/**
 * The orchestrator's end of one replica's task channel (a long-lived bidirectional stream): sends
 * tasks, cancellations and heartbeats, and counts the replica's credits: its free slots at its
 * last message, less the tasks sent that it had not received by then and the slots the pool has
 * claimed but not yet used. A broken stream fails its tasks over (ReplicaLostError) and is opened
 * again; a replica silent for heartbeatTimeoutMs is lost.
 */
export class TaskChannel {
  /** "connecting" until the replica's greeting, "open" after it. */
  state: "connecting" | "open" | "broken" | "closed" = "broken";
  /** The replica's worker slots, from its greeting. */
  workers = 0;
  private call: BidiCall<Request, TaskChannelResponse> | undefined;
  private readonly tasks = new Map<number, PendingTask>();
  private nextId = 0;
  private sent = 0;
  private received = 0;
  private free = 0;
  private claimed = 0;
  private heartbeats = 0;
  private lastHeardMs = 0;
  private lastBeatMs = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectMs = RECONNECT_MIN_MS;

  constructor(
    private readonly client: PromiseClient<typeof AgentService>,
    private readonly settings: ChannelSettings,
    private readonly events: ChannelEvents,
    private readonly log: Logger,
  ) {
    this.open();
  }

  /** Tasks the replica can take now. */
  get credits(): number {
    if (this.state !== "open") return 0;
    return this.free - ((this.sent - this.received) >>> 0) - this.claimed;
  }

  /** How long (ms) since the replica last said anything on the channel (heartbeat echoes included). */
  get silentMs(): number {
    return performance.now() - this.lastHeardMs;
  }

  /** Tasks sent and not yet ended on the replica. */
  get inFlight(): number {
    return this.tasks.size;
  }

  /** Reserves one credit for a task about to be submitted. */
  claim(): void {
    this.claimed += 1;
  }

  /** Gives back a credit claimed for a task that will not be submitted. */
  unclaim(): void {
    this.claimed = Math.max(0, this.claimed - 1);
  }

  /**
   * Sends a task into a claimed credit; resolves to its answer. `freed` is called once its slot on
   * the replica is free again, which may be after the promise settled (a cancelled task).
   */
  submit(request: ChannelTaskRequest, freed: () => void): Promise<GenerateResponse> {
    this.unclaim();
    const call = this.call;
    if (this.state !== "open" || !call) {
      freed();
      return Promise.reject(new ReplicaLostError(`task channel to ${this.client.address} is not open`));
    }
    this.nextId = (this.nextId + 1) >>> 0;
    const id = this.nextId;
    return new Promise<GenerateResponse>((resolve, reject) => {
      const task = new PendingTask(id, request, resolve, reject, freed, (taskId) =>
        this.send({ kind: { case: "cancel", value: { taskId } } }),
      );
      this.tasks.set(id, task);
      this.sent = (this.sent + 1) >>> 0;
      const timeoutMs = Math.max(1, Math.ceil(request.deadline.getTime() - Date.now()));
      const { turnId, message, context } = request;
      const sent = this.send({
        kind: {
          case: "task",
          value: {
            taskId: id,
            request: { turnId, message, context: context.map((m) => ({ role: m.role, content: m.content })) },
            stream: request.onDelta !== undefined,
            timeoutMs,
            requestId: request.requestId,
            traceContext: request.traceContext,
          },
        },
      });
      if (!sent) this.break("the task could not be sent");
    });
  }

  /** Closes the channel for good: its tasks fail over, nothing reconnects. */
  close(): void {
    clearTimeout(this.reconnectTimer);
    if (this.state === "broken") this.state = "closed";
    else this.break("the replica left the pool", true);
  }

  private send(request: Request): boolean {
    try {
      this.call?.write(request);
      return this.call !== undefined;
    } catch (err) {
      this.log.warn({ err, replica: this.client.address }, "task channel write failed");
      return false;
    }
  }

  private open(): void {
    this.state = "connecting";
    this.sent = 0;
    this.received = 0;
    this.free = 0;
    this.lastHeardMs = performance.now();
    this.lastBeatMs = this.lastHeardMs;
    const call = this.client.taskChannel({ maxBuffered: 4096 });
    this.call = call;
    this.heartbeatTimer = setInterval(() => this.beat(), this.settings.heartbeatMs).unref();
    this.read(call).then(
      () => {
        if (call === this.call) this.break("the replica ended its task channel");
      },
      (err: unknown) => {
        if (call === this.call) this.break(`the task channel broke: ${detailsOf(err)}`);
      },
    );
  }

  private async read(call: BidiCall<Request, TaskChannelResponse>): Promise<void> {
    for await (const message of call) {
      if (call !== this.call) return;
      this.heard(message);
    }
  }

  private heard(message: TaskChannelResponse): void {
    this.lastHeardMs = performance.now();
    this.free = message.freeSlots;
    this.received = message.tasksReceived;
    const { event } = message;
    switch (event.case) {
      case "ready":
        this.state = "open";
        this.workers = event.value.workers;
        this.reconnectMs = RECONNECT_MIN_MS;
        this.events.credit();
        return;
      case "delta":
        this.tasks.get(event.value.taskId)?.delta(event.value.text);
        return;
      case "result": {
        const task = this.tasks.get(event.value.taskId);
        if (!task) return;
        this.tasks.delete(task.id);
        const { outcome } = event.value;
        if (outcome.case === "response") task.answered(outcome.value);
        else if (outcome.case === "error") task.failed(taskError(outcome.value));
        else task.failed(new RpcError(status.INTERNAL, "the replica sent a result without an outcome"));
        task.ended();
        return;
      }
      default:
        // A heartbeat's echo or a credit: the stamp above is the news.
        this.events.credit();
    }
  }

  private beat(): void {
    const now = performance.now();
    const silentMs = now - this.lastHeardMs;
    // A tick this late means this process stalled: answers may be waiting unread, so no verdict yet.
    const stalled = now - this.lastBeatMs > 2 * this.settings.heartbeatMs;
    this.lastBeatMs = now;
    if (!stalled && silentMs > this.settings.heartbeatTimeoutMs) {
      const reason = `no answer from replica ${this.client.address} for ${Math.round(silentMs)} ms`;
      this.break(reason);
      this.events.lost(reason);
      return;
    }
    this.heartbeats = (this.heartbeats + 1) >>> 0;
    this.send({ kind: { case: "heartbeat", value: { sequence: this.heartbeats } } });
  }

  // Every task in flight fails over; the channel opens again unless it was closed or is unwanted.
  private break(reason: string, closing = false): void {
    if (this.state === "broken" || this.state === "closed") return;
    this.state = closing ? "closed" : "broken";
    clearInterval(this.heartbeatTimer);
    const call = this.call;
    this.call = undefined;
    call?.cancel();
    const tasks = [...this.tasks.values()];
    this.tasks.clear();
    for (const task of tasks) {
      task.failed(new ReplicaLostError(`${reason} (task on ${this.client.address})`));
      task.ended();
    }
    if (tasks.length > 0 || !closing)
      this.log.debug({ replica: this.client.address, reason }, "task channel broke");
    if (!closing) this.reconnectLater();
  }

  private reconnectLater(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (this.state !== "broken") return;
      if (this.events.wanted()) this.open();
      else this.state = "closed";
    }, this.reconnectMs).unref();
    this.reconnectMs = Math.min(RECONNECT_MAX_MS, this.reconnectMs * 2);
  }
}
