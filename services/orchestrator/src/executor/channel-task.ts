import type { ChannelError, GenerateResponse } from "@chorus/proto";
import { RpcError } from "@chorus/shared";
import { Metadata, status } from "@grpc/grpc-js";

/** What one task sent down a task channel needs: the message, its deadline and who listens. */
export interface ChannelTaskRequest {
  readonly turnId: string;
  readonly message: string;
  readonly context: readonly { readonly role: string; readonly content: string }[];
  readonly deadline: Date;
  readonly requestId: string;
  /** Stops the task on the replica; its promise rejects with CANCELLED at once. */
  readonly signal?: AbortSignal | undefined;
  /** Called with text as the model produces it; when set the replica streams, else it asks for a whole answer. */
  readonly onDelta?: ((text: string) => void) | undefined;
  /** W3C trace context (traceparent, tracestate) of the attempt's span, sent with the task; absent when tracing is off. */
  readonly traceContext?: Readonly<Record<string, string>> | undefined;
}

/**
 * The failure of a task whose channel broke or whose replica stopped answering: the replica's,
 * not the task's, so a retry elsewhere does not use up the task's attempts.
 */
export class ReplicaLostError extends RpcError {
  constructor(message: string) {
    super(status.UNAVAILABLE, message);
    this.name = "ReplicaLostError";
  }
}

/** A task's error from the replica, shaped like the error grpc-js gives a failed unary call. */
export function taskError(error: ChannelError): Error {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(error.trailers)) metadata.set(key, value);
  const code = error.code as status;
  return Object.assign(new Error(`${code} ${status[code] ?? "UNKNOWN"}: ${error.message}`), {
    code,
    details: error.message,
    metadata,
  });
}

/** One task in flight on a channel: settled once (answer, error, cancel), freed once (its slot). */
export class PendingTask {
  private settled = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly onAbort = () =>
    this.cancel(new RpcError(status.CANCELLED, "task cancelled by the caller"));

  constructor(
    readonly id: number,
    readonly request: ChannelTaskRequest,
    private readonly resolve: (answer: GenerateResponse) => void,
    private readonly reject: (err: unknown) => void,
    /** Called once the replica's slot is free again (its result arrived, or the channel broke). */
    private readonly freed: () => void,
    /** Asks the replica to stop the task. */
    private readonly sendCancel: (id: number) => void,
  ) {
    const { signal, deadline } = request;
    signal?.addEventListener("abort", this.onAbort, { once: true });
    const left = deadline.getTime() - Date.now();
    this.timer = setTimeout(
      () => this.cancel(new RpcError(status.DEADLINE_EXCEEDED, "the task's deadline passed on its replica")),
      Math.max(0, left),
    );
  }

  /** True while the caller still waits for the answer. */
  get waiting(): boolean {
    return !this.settled;
  }

  delta(text: string): void {
    if (!this.settled) this.request.onDelta?.(text);
  }

  answered(answer: GenerateResponse): void {
    if (this.settled) return;
    this.settle();
    this.resolve(answer);
  }

  failed(err: unknown): void {
    if (this.settled) return;
    this.settle();
    this.reject(err);
  }

  /** The task's slot is free again: it ended on the replica (or its channel broke). */
  ended(): void {
    this.freed();
  }

  // The caller stops waiting at once; the slot stays taken until the replica says the task ended.
  private cancel(err: RpcError): void {
    if (this.settled) return;
    this.failed(err);
    this.sendCancel(this.id);
  }

  private settle(): void {
    this.settled = true;
    clearTimeout(this.timer);
    this.request.signal?.removeEventListener("abort", this.onAbort);
  }
}
