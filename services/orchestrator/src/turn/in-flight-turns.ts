import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ChatResponseSchema } from "@chorus/proto";
import { quoted, RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";

type ChatResponseInit = MessageInitShape<typeof ChatResponseSchema>;

/** What of a turn's request decides whether it waits, and for how long (a TurnInput is one). */
export interface TurnRequest {
  readonly turnId: string;
  readonly principal: { readonly id: string };
  readonly deadline: Date;
  readonly signal: AbortSignal;
}

/** A turn running under a turn_id, and the request that runs it. */
interface Running {
  readonly response: Promise<ChatResponseInit>;
  readonly input: TurnRequest;
}

/** How the first request's turn ended, as a request waiting for it sees it. */
type Outcome =
  | { readonly ok: true; readonly response: ChatResponseInit }
  | { readonly ok: false; readonly err: unknown };

const gaveUp = (input: TurnRequest) => input.signal.aborted || Date.now() >= input.deadline.getTime();

/** `running`'s outcome, unless `input`'s own deadline passes or its caller cancels first (thrown). */
function outcomeOf(running: Running, input: TurnRequest): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const end = (err: RpcError) => {
      clearTimeout(timer);
      input.signal.removeEventListener("abort", cancelled);
      reject(err);
    };
    const cancelled = () => end(new RpcError(status.CANCELLED, "turn cancelled by the caller"));
    const timer = setTimeout(
      () =>
        end(
          new RpcError(
            status.DEADLINE_EXCEEDED,
            `turn_id ${quoted(input.turnId)} is being answered by an earlier request, which did not finish before the deadline`,
          ),
        ),
      Math.max(0, input.deadline.getTime() - Date.now()),
    );
    input.signal.addEventListener("abort", cancelled, { once: true });
    const settle = (outcome: Outcome) => {
      clearTimeout(timer);
      input.signal.removeEventListener("abort", cancelled);
      resolve(outcome);
    };
    running.response.then(
      (response) => settle({ ok: true, response }),
      (err: unknown) => settle({ ok: false, err }),
    );
    if (input.signal.aborted) cancelled();
  });
}

/**
 * The turns with a turn_id running in this orchestrator, by principal and turn_id: a request whose
 * turn_id is already running waits for that turn instead of running its agents again, and gets its
 * answer as a replay (or its error). When the request running it gives up (its caller cancelled, or
 * its deadline passed), a waiting one runs the turn itself. Another principal's turn_id is another
 * key: nothing waits across principals.
 */
export class InFlightTurns {
  private readonly running = new Map<string, Running>();

  /** Turns running now. */
  get size(): number {
    return this.running.size;
  }

  /** Runs `input`'s turn with `start`, or waits for the same principal's turn_id already running. */
  async run(input: TurnRequest, start: () => Promise<ChatResponseInit>): Promise<ChatResponseInit> {
    const key = JSON.stringify([input.principal.id, input.turnId]);
    for (;;) {
      const first = this.running.get(key);
      if (!first) {
        const entry: Running = {
          input,
          // The key is freed before anyone waiting sees the outcome, so one that takes over starts anew.
          response: start().finally(() => {
            if (this.running.get(key) === entry) this.running.delete(key);
          }),
        };
        this.running.set(key, entry);
        return entry.response;
      }
      const outcome = await outcomeOf(first, input);
      if (outcome.ok) return { ...outcome.response, replayed: true };
      if (!gaveUp(first.input)) throw outcome.err;
    }
  }
}
