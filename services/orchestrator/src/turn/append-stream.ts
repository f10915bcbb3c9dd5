import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  AppendTurnRequestSchema,
  AppendTurnResponse,
  AppendTurnsRequestSchema,
  AppendTurnsResponse,
  HistoryService,
} from "@chorus/proto";
import {
  ACTING_FOR_ADMIN_KEY,
  ACTING_FOR_PRINCIPAL_KEY,
  type BidiCall,
  codeOf,
  inSpan,
  type Logger,
  type PromiseClient,
  RpcError,
  type RpcOptions,
  rpcAttributes,
  SpanKind,
  traceHeaders,
} from "@chorus/shared";
import { status } from "@grpc/grpc-js";

type HistoryClient = PromiseClient<typeof HistoryService>;
type AppendRequest = MessageInitShape<typeof AppendTurnRequestSchema>;

interface InFlight {
  readonly request: AppendRequest;
  readonly rpc: RpcOptions | undefined;
  resolve(response: AppendTurnResponse): void;
  reject(err: unknown): void;
}

/** The name (and rpc.method) of an append's spans on both ends. */
const APPEND_TURNS = "chorus.v1.HistoryService/AppendTurns";

type Stream = BidiCall<MessageInitShape<typeof AppendTurnsRequestSchema>, AppendTurnsResponse>;

/**
 * AppendTurn over one long-lived AppendTurns stream to one history replica: opened on first use,
 * opened again after it breaks. Each append names its principal in the message (from the call's
 * acting-for metadata), is answered by id once history committed it, and keeps its own deadline and
 * cancellation. At most `maxInFlight` appends wait for answers; more wait for a slot. Appends in
 * flight on a stream that breaks fail UNAVAILABLE (the caller retries them: AppendTurn by turn_id
 * is idempotent) — unless history ended the stream with a verdict of its own (an item refused as
 * too large), when each is sent again as a unary AppendTurn for its own answer. A history without
 * AppendTurns (an older build) gets unary AppendTurn from then on. The stream does not wait for a
 * connection: while history is down its appends fail UNAVAILABLE at once, and the caller's paced
 * retries (callHistory) ride out the restart within the turn's deadline.
 */
export class AppendStream {
  private stream: Stream | undefined;
  private readonly inFlight = new Map<bigint, InFlight>();
  /** Appends holding a slot: in flight, or about to be sent. */
  private busy = 0;
  private readonly slotWaiters = new Set<() => void>();
  private nextId = 1n;
  private unsupported = false;

  constructor(
    private readonly client: Pick<HistoryClient, "appendTurns" | "appendTurn">,
    private readonly maxInFlight: number,
    private readonly log?: Logger,
  ) {}

  /**
   * Stores one turn as AppendTurn does, over the stream, in a client span of its own whose W3C
   * trace context the item carries (history's span for it is that span's child).
   */
  append(request: AppendRequest, rpc?: RpcOptions): Promise<AppendTurnResponse> {
    const address = (this.client as { address?: string }).address;
    const options = { kind: SpanKind.CLIENT, attributes: rpcAttributes(APPEND_TURNS, address) };
    return inSpan(APPEND_TURNS, options, () => this.send(request, rpc, traceHeaders()));
  }

  private async send(
    request: AppendRequest,
    rpc: RpcOptions | undefined,
    traceContext: Record<string, string>,
  ): Promise<AppendTurnResponse> {
    if (this.unsupported) return this.client.appendTurn(request, rpc);
    await this.slot(rpc);
    if (this.unsupported) {
      this.freeSlot();
      return this.client.appendTurn(request, rpc);
    }
    const id = this.nextId++;
    return new Promise<AppendTurnResponse>((resolve, reject) => {
      const cleanup: Array<() => void> = [];
      const settle = (done: () => void) => {
        if (!this.inFlight.delete(id)) return;
        for (const undo of cleanup) undo();
        this.freeSlot();
        done();
      };
      this.inFlight.set(id, {
        request,
        rpc,
        resolve: (response) => settle(() => resolve(response)),
        reject: (err) => settle(() => reject(err)),
      });
      if (rpc?.deadline) {
        const timer = setTimeout(
          () =>
            this.inFlight.get(id)?.reject(new RpcError(status.DEADLINE_EXCEEDED, "history append timed out")),
          Math.max(0, rpc.deadline.getTime() - Date.now()),
        );
        cleanup.push(() => clearTimeout(timer));
      }
      if (rpc?.signal) {
        const abort = () => this.inFlight.get(id)?.reject(new RpcError(status.CANCELLED, "append cancelled"));
        if (rpc.signal.aborted) return abort();
        rpc.signal.addEventListener("abort", abort, { once: true });
        cleanup.push(() => rpc.signal?.removeEventListener("abort", abort));
      }
      const metadata = rpc?.metadata ?? {};
      try {
        this.open().write({
          id,
          append: request,
          actingFor: metadata[ACTING_FOR_PRINCIPAL_KEY] ?? "",
          actingForAdmin: metadata[ACTING_FOR_ADMIN_KEY] === "1",
          traceContext,
        });
      } catch (err) {
        this.inFlight.get(id)?.reject(err);
      }
    });
  }

  /** Ends the stream; appends still in flight fail UNAVAILABLE. */
  close(): void {
    this.stream?.cancel();
    this.stream = undefined;
    this.failAll(new RpcError(status.UNAVAILABLE, "history append stream closed"));
  }

  /** Takes a slot, waiting (within the call's deadline) while maxInFlight appends hold one. */
  private async slot(rpc: RpcOptions | undefined): Promise<void> {
    while (this.busy >= this.maxInFlight) {
      const left = rpc?.deadline ? rpc.deadline.getTime() - Date.now() : Number.POSITIVE_INFINITY;
      if (left <= 0)
        throw new RpcError(status.DEADLINE_EXCEEDED, "no free slot on the history append stream");
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(left) ? setTimeout(resolve, left) : undefined;
        this.slotWaiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.busy += 1;
  }

  /** Gives a slot back; every waiter looks again (one whose deadline passed has gone). */
  private freeSlot(): void {
    this.busy -= 1;
    const waiters = [...this.slotWaiters];
    this.slotWaiters.clear();
    for (const wake of waiters) wake();
  }

  private open(): Stream {
    if (this.stream) return this.stream;
    const stream: Stream = this.client.appendTurns();
    this.stream = stream;
    void this.read(stream);
    return stream;
  }

  private async read(stream: Stream): Promise<void> {
    let ending: unknown = new RpcError(status.UNAVAILABLE, "history ended the append stream");
    try {
      for await (const reply of stream) {
        const waiting = this.inFlight.get(reply.id);
        if (!waiting) continue;
        if (reply.outcome.case === "appended") waiting.resolve(reply.outcome.value);
        else if (reply.outcome.case === "error")
          waiting.reject(new RpcError(reply.outcome.value.code, reply.outcome.value.message));
        else waiting.reject(new RpcError(status.INTERNAL, "history answered an append with no outcome"));
      }
    } catch (err) {
      ending = err;
    }
    if (this.stream === stream) this.stream = undefined;
    const code = codeOf(ending);
    if (code === status.UNIMPLEMENTED) {
      this.unsupported = true;
      this.log?.info("history does not know AppendTurns; appending with AppendTurn");
    }
    if (code === status.UNAVAILABLE || code === status.CANCELLED || code === status.DEADLINE_EXCEEDED) {
      this.failAll(
        new RpcError(status.UNAVAILABLE, `history append stream broke: ${(ending as Error).message}`),
      );
      return;
    }
    // History's own verdict on the stream: each append gets its own, unary.
    for (const [, waiting] of this.inFlight)
      this.client.appendTurn(waiting.request, waiting.rpc).then(waiting.resolve, waiting.reject);
  }

  private failAll(err: unknown): void {
    for (const [, waiting] of this.inFlight) waiting.reject(err);
  }
}
