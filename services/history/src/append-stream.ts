import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AppendTurnsRequest, AppendTurnsResponseSchema } from "@chorus/proto";
import type { CallContext } from "@chorus/shared";

type Reply = MessageInitShape<typeof AppendTurnsResponseSchema>;

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
        void append(request).then((reply) => {
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
