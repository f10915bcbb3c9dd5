import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ChorusUp, startChorusUp } from "@chorus/cli/testing";
import { type Aggregation, ChatService, HistoryService } from "@chorus/proto";
import { createClient, type PromiseClient } from "@chorus/shared";
import { status } from "@grpc/grpc-js";

const soon = () => ({ deadline: new Date(Date.now() + 30_000) });

function expectStatus(code: status, field: RegExp) {
  return (err: { code?: number; details?: string }) => {
    assert.equal(err.code, code, `expected ${status[code]}, got ${err.code}: ${err.details}`);
    assert.match(err.details ?? "", field);
    return true;
  };
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // Only the stream's final status matters here.
  }
}

describe("bad input gets a clear status, stores nothing, and the service stays up", () => {
  let mesh: ChorusUp;
  let chat: PromiseClient<typeof ChatService>;
  let history: PromiseClient<typeof HistoryService>;
  before(async () => {
    mesh = await startChorusUp({ limits: { max_message_bytes: 1024, max_batch: 10 } });
    chat = createClient(ChatService, mesh.address);
    history = createClient(HistoryService, mesh.address);
  });
  after(async () => {
    chat.close();
    history.close();
    await mesh.stop();
  });

  const cases: Array<[string, () => Promise<unknown>, status, RegExp]> = [
    [
      "an empty message",
      () => chat.chat({ message: "" }, soon()),
      status.INVALID_ARGUMENT,
      /^message: must not be empty/,
    ],
    ["a blank message", () => chat.chat({ message: "  \n" }, soon()), status.INVALID_ARGUMENT, /^message:/],
    [
      "a message over limits.max_message_bytes",
      () => chat.chat({ message: "x".repeat(2000) }, soon()),
      status.INVALID_ARGUMENT,
      /^message: is 2000 bytes; the limit is 1024 \(limits\.max_message_bytes\)/,
    ],
    [
      "an unknown agent",
      () => chat.chat({ message: "hi", agents: ["poet"] }, soon()),
      status.INVALID_ARGUMENT,
      /^agents: unknown agent "poet"/,
    ],
    [
      "a malformed conversation id",
      () => chat.chat({ message: "hi", conversationId: "not an id!" }, soon()),
      status.INVALID_ARGUMENT,
      /^conversation_id:/,
    ],
    [
      "a malformed turn id",
      () => chat.chat({ message: "hi", turnId: "x".repeat(200) }, soon()),
      status.INVALID_ARGUMENT,
      /^turn_id:/,
    ],
    [
      "an unknown conversation",
      () => chat.chat({ message: "hi", conversationId: "no-such-conversation" }, soon()),
      status.NOT_FOUND,
      /no-such-conversation/,
    ],
    [
      "an unknown aggregation value",
      () => chat.chat({ message: "hi", aggregation: 42 as Aggregation }, soon()),
      status.INVALID_ARGUMENT,
      /^aggregation:/,
    ],
    [
      "a batch of zero",
      () => drain(chat.batch({ count: 0 }, soon())),
      status.INVALID_ARGUMENT,
      /^count: must be > 0/,
    ],
    [
      "a batch over limits.max_batch",
      () => drain(chat.batch({ count: 11 }, soon())),
      status.INVALID_ARGUMENT,
      /^count: 11 exceeds limits\.max_batch \(10\)/,
    ],
    [
      "a batch with both messages and count",
      () => drain(chat.batch({ count: 2, messages: ["a"] }, soon())),
      status.INVALID_ARGUMENT,
      /^count: give either/,
    ],
    [
      "a streamed chat with an empty message",
      () => drain(chat.chatStream({ message: "" }, soon())),
      status.INVALID_ARGUMENT,
      /^message:/,
    ],
    [
      "an AppendTurn sent to the public port",
      () => history.appendTurn({ turn: { turnId: "t", conversationId: "c", message: "m" } }, soon()),
      status.PERMISSION_DENIED,
      /internal/,
    ],
    [
      "a ClaimTurn sent to the public port",
      () => history.claimTurn({ turnId: "t", claimId: "c", leaseMs: 1000 }, soon()),
      status.PERMISSION_DENIED,
      /^ClaimTurn is internal/,
    ],
    [
      "a ReleaseTurn sent to the public port",
      () => history.releaseTurn({ turnId: "t", claimId: "c" }, soon()),
      status.PERMISSION_DENIED,
      /^ReleaseTurn is internal/,
    ],
    [
      "a conversation that does not exist",
      () => history.getConversation({ conversationId: "missing-conversation" }, soon()),
      status.NOT_FOUND,
      /missing-conversation/,
    ],
  ];

  for (const [what, call, code, message] of cases) {
    it(`rejects ${what} with ${status[code]}`, async () => {
      await assert.rejects(call(), expectStatus(code, message));
    });
  }

  it("stored nothing for the rejected requests and still answers", async () => {
    const listed = await history.listConversations({ pageSize: 100 }, soon());
    assert.equal(listed.conversations.length, 0);
    const stats = await chat.getStats({}, soon());
    assert.equal(stats.totalRequests, 0n, "rejected requests never reached dispatch");
    const response = await chat.chat({ message: "still here?" }, soon());
    assert.equal(response.agentAnswers.filter((a) => a.ok).length, 3);
  });
});
