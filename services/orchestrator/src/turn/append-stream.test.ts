import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type AppendTurnsResponseSchema, HistoryService } from "@chorus/proto";
import {
  bind,
  createClient,
  createLogger,
  RpcError,
  type RunningServer,
  type ServiceHandlers,
  serve,
} from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { AppendStream } from "./append-stream.js";

const log = createLogger("append-stream-test", "silent");
const soon = () => new Date(Date.now() + 5000);

/** What a test history saw: unary appends, streams opened, and each streamed item's principal. */
interface Seen {
  unary: string[];
  streams: number;
  items: Array<[string, string, boolean]>;
}

/**
 * A history whose AppendTurns is `streaming` (absent: UNIMPLEMENTED, as a build before it), which
 * answers every append with the turn as sent.
 */
async function history(
  streaming?: (
    requests: AsyncIterable<{ id: bigint; append?: { turn?: { turnId: string } }; actingFor: string }>,
    seen: Seen,
  ) => AsyncIterable<MessageInitShape<typeof AppendTurnsResponseSchema>>,
) {
  const seen: Seen = { unary: [], streams: 0, items: [] };
  const unused = async () => {
    throw new RpcError(status.UNIMPLEMENTED, "not in this test");
  };
  const handlers: ServiceHandlers<typeof HistoryService> = {
    async appendTurn(request) {
      seen.unary.push(request.turn?.turnId ?? "");
      return { turn: request.turn, created: true };
    },
    async *appendTurns(requests) {
      if (!streaming) throw new RpcError(status.UNIMPLEMENTED, "unknown method AppendTurns");
      seen.streams += 1;
      yield* streaming(requests, seen);
    },
    claimTurn: unused,
    releaseTurn: unused,
    prepareTurn: unused,
    getTurn: unused,
    getConversation: unused,
    listConversations: unused,
    searchTurns: unused,
    deleteConversation: unused,
    async *exportConversation() {},
  };
  const server: RunningServer = await serve({
    host: "127.0.0.1",
    port: 0,
    services: [bind(HistoryService, handlers)],
    log,
  });
  const client = createClient(HistoryService, server.address);
  return {
    seen,
    client,
    close: async () => {
      client.close();
      await server.close(0);
    },
  };
}

const append = (turnId: string) => ({ turn: { turnId, conversationId: "c" }, createConversation: true });
const closers: Array<() => Promise<void>> = [];
after(() => Promise.all(closers.map((close) => close())));

describe("AppendStream", () => {
  it("sends many appends down one stream, each with the principal it acts for, and matches answers by id", async () => {
    const h = await history(async function* (requests, seen) {
      for await (const request of requests) {
        const turnId = request.append?.turn?.turnId ?? "";
        seen.items.push([turnId, request.actingFor, false]);
        yield {
          id: request.id,
          outcome: { case: "appended", value: { turn: request.append?.turn, created: true } },
        };
      }
    });
    closers.push(h.close);
    const stream = new AppendStream(h.client, 64, log);
    const principals = ["alice", "bob", "carol"];
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        stream.append(append(`t-${i}`), {
          deadline: soon(),
          metadata: { "x-chorus-principal": principals[i % 3] ?? "" },
        }),
      ),
    );
    assert.deepEqual(
      answers.map((a) => a.turn?.turnId),
      Array.from({ length: 30 }, (_, i) => `t-${i}`),
    );
    assert.deepEqual([h.seen.streams, h.seen.unary.length], [1, 0], "one stream, no unary call");
    assert.deepEqual(
      h.seen.items.map(([turnId, principal]) => [turnId, principal]),
      Array.from({ length: 30 }, (_, i) => [`t-${i}`, principals[i % 3]]),
    );
    stream.close();
  });

  it("appends with unary AppendTurn, without asking for a stream again, to a history without AppendTurns", async () => {
    const h = await history();
    closers.push(h.close);
    const stream = new AppendStream(h.client, 64, log);
    const first = await stream.append(append("old-1"), { deadline: soon() });
    const second = await stream.append(append("old-2"), { deadline: soon() });
    assert.deepEqual([first.turn?.turnId, second.turn?.turnId], ["old-1", "old-2"]);
    assert.deepEqual(h.seen.unary, ["old-1", "old-2"]);
    stream.close();
  });

  it("fails the appends in flight on a broken stream UNAVAILABLE, so they are retried, and opens a new stream for the next", async () => {
    let broken = false;
    const h = await history(async function* (requests) {
      for await (const request of requests) {
        if (!broken) {
          broken = true;
          throw new RpcError(status.UNAVAILABLE, "history went away");
        }
        yield {
          id: request.id,
          outcome: { case: "appended", value: { turn: request.append?.turn, created: false } },
        };
      }
    });
    closers.push(h.close);
    const stream = new AppendStream(h.client, 64, log);
    await assert.rejects(stream.append(append("b-1"), { deadline: soon() }), { code: status.UNAVAILABLE });
    const again = await stream.append(append("b-1"), { deadline: soon() });
    assert.deepEqual([again.turn?.turnId, h.seen.streams], ["b-1", 2]);
    stream.close();
  });

  it("keeps at most max-in-flight appends unanswered on a stream; the rest wait for a slot", async () => {
    let most = 0;
    const h = await history(async function* (requests, seen) {
      const answers: Array<MessageInitShape<typeof AppendTurnsResponseSchema>> = [];
      let outstanding = 0;
      let done = false;
      let wake = () => {};
      void (async () => {
        for await (const request of requests) {
          outstanding += 1;
          most = Math.max(most, outstanding);
          seen.items.push([request.append?.turn?.turnId ?? "", request.actingFor, false]);
          // Answers a little later, so a sender that ignored the bound would send them all first.
          setTimeout(() => {
            outstanding -= 1;
            answers.push({
              id: request.id,
              outcome: { case: "appended", value: { turn: request.append?.turn } },
            });
            wake();
          }, 5);
        }
        done = true;
        wake();
      })();
      for (;;) {
        if (answers.length > 0) yield* answers.splice(0);
        else if (done && outstanding === 0) return;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    });
    closers.push(h.close);
    const stream = new AppendStream(h.client, 2, log);
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => stream.append(append(`s-${i}`), { deadline: soon() })),
    );
    assert.equal(h.seen.items.length, 10);
    assert.equal(most, 2);
    stream.close();
  });

  it("fails an append whose deadline passes DEADLINE_EXCEEDED, and one whose caller cancels CANCELLED", async () => {
    const h = await history(async function* (requests) {
      for await (const _ of requests) {
        // Never answers.
      }
      yield* [];
    });
    closers.push(h.close);
    const stream = new AppendStream(h.client, 64, log);
    await assert.rejects(stream.append(append("d-1"), { deadline: new Date(Date.now() + 50) }), {
      code: status.DEADLINE_EXCEEDED,
    });
    const cancel = new AbortController();
    const cancelled = stream.append(append("d-2"), { deadline: soon(), signal: cancel.signal });
    setTimeout(() => cancel.abort(), 20);
    await assert.rejects(cancelled, { code: status.CANCELLED });
    stream.close();
  });
});
