import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AppendTurnsRequest, AppendTurnsResponseSchema } from "@chorus/proto";
import {
  type CallContext,
  extractHeaders,
  failSpan,
  inSpan,
  RpcError,
  rpcAttributes,
  SpanKind,
} from "@chorus/shared";

type Reply = MessageInitShape<typeof AppendTurnsResponseSchema>;

const APPEND_TURNS = "chorus.v1.HistoryService/AppendTurns";

/** One append in a server span continuing the trace context the item carries (a no-op while tracing is off). */
function tracedAppend(
  request: AppendTurnsRequest,
  append: (request: AppendTurnsRequest) => Promise<Reply>,
): Promise<Reply> {
  const options = { kind: SpanKind.SERVER, attributes: rpcAttributes(APPEND_TURNS) };
  const parent = extractHeaders(request.traceContext);
  return inSpan(
    APPEND_TURNS,
    options,
    async (span) => {
      const reply = await append(request);
      if (reply.outcome?.case === "error") {
        const { code, message } = reply.outcome.value;
        failSpan(span, new RpcError(code ?? 2, message ?? ""));
      }
      return reply;
    },
    parent,
  );
}

/**
 * Serves one AppendTurns stream: reads appends as they come (up to `maxInFlight` unanswered, then
 * it stops reading until one is answered), hands each to `append`, and yields each reply as soon
 * as it is ready, in whatever order. `append` settles every item with its reply (never rejects).
 * Ends once the caller half-closed (or `closing` aborted: the server is shutting down) and every
 * append read has been answered.
 */
export async function* serveAppendStream(
  requests: AsyncIterable<AppendTurnsRequest>,
  context: CallContext,
  append: (request: AppendTurnsRequest) => Promise<Reply>,
  maxInFlight: number,
  closing?: AbortSignal,
): AsyncIterable<Reply> {
  const ready: Reply[] = [];
  let inFlight = 0;
  let reading = true;
  let failure: { err: unknown } | undefined;
  let wakeWriter: (() => void) | undefined;
  let wakeReader: (() => void) | undefined;
  const wake = () => {
    const writer = wakeWriter;
    wakeWriter = undefined;
    writer?.();
  };
  const freeSlot = () => {
    const reader = wakeReader;
    wakeReader = undefined;
    reader?.();
  };
  const stop = () => {
    wake();
    freeSlot();
  };
  context.signal.addEventListener("abort", stop, { once: true });
  closing?.addEventListener("abort", stop, { once: true });
  const stopped = () => context.signal.aborted || closing?.aborted === true;
  const reader = (async () => {
    try {
      for await (const request of requests) {
        inFlight += 1;
        void tracedAppend(request, append).then((reply) => {
          inFlight -= 1;
          ready.push(reply);
          wake();
          freeSlot();
        });
        while (inFlight >= maxInFlight && !stopped()) await new Promise<void>((r) => (wakeReader = r));
        if (stopped()) break;
      }
    } catch (err) {
      failure = { err };
    } finally {
      reading = false;
      wake();
    }
  })();
  try {
    for (;;) {
      if (ready.length > 0) {
        yield* ready.splice(0);
        continue;
      }
      if (context.signal.aborted) return;
      if (failure) throw failure.err;
      if ((!reading || closing?.aborted) && inFlight === 0) return;
      await new Promise<void>((r) => (wakeWriter = r));
    }
  } finally {
    context.signal.removeEventListener("abort", stop);
    closing?.removeEventListener("abort", stop);
    void reader;
  }
}
