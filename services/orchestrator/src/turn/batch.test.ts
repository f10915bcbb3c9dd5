import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { BatchEventSchema } from "@chorus/proto";
import { LOCAL_PRINCIPAL } from "@chorus/shared";
import { OverloadedError } from "../executor/overloaded.js";
import { type TurnRig, turnRig } from "../testing/turn-rig.js";
import { type BatchInput, runBatch } from "./batch.js";

type BatchEvent = MessageInitShape<typeof BatchEventSchema>;

function batchInput(messages: string[], agents: string[], fanout: boolean): BatchInput {
  return {
    messages,
    agents,
    fanout,
    deadline: new Date(Date.now() + 10_000),
    signal: new AbortController().signal,
    requestId: "batch-test",
    principal: LOCAL_PRINCIPAL,
  };
}

async function collect(rig: TurnRig, input: BatchInput) {
  const events: BatchEvent[] = [];
  for await (const event of runBatch(rig.deps, input)) events.push(event);
  const items = events.flatMap((e) => (e.event?.case === "item" ? [e.event.value] : []));
  const summaries = events.flatMap((e) => (e.event?.case === "summary" ? [e.event.value] : []));
  return { events, items, summaries };
}

const messages = Array.from({ length: 6 }, (_, i) => `question ${i}`);

describe("runBatch", () => {
  it("sends each message to one agent in turn, at most batch_concurrency at once, then a summary", async () => {
    const slow = { delayMs: 30 };
    const rig = turnRig({
      config: { limits: { batch_concurrency: 2 } },
      agents: { creative: slow, analytical: slow },
    });
    const { events, items, summaries } = await collect(
      rig,
      batchInput(messages, ["creative", "analytical"], false),
    );
    assert.deepEqual(
      rig.agent("creative").requests.map((r) => r.message),
      ["question 0", "question 2", "question 4"],
    );
    assert.deepEqual(
      rig.agent("analytical").requests.map((r) => r.message),
      ["question 1", "question 3", "question 5"],
    );
    assert.equal(rig.agent("balanced").requests.length, 0);
    assert.equal(rig.concurrency.peak, 2, "two tasks ran at once, never more");
    assert.equal(items.length, 6);
    for (const item of items) {
      assert.equal(item.success, true);
      assert.equal(item.response, rig.agent(item.agent ?? "").answerTo(item.message ?? ""));
    }
    assert.equal(events.at(-1)?.event?.case, "summary");
    assert.deepEqual(
      summaries.map((s) => [s.total, s.successful, s.failed]),
      [[6, 6, 0]],
    );
    assert.equal(rig.history.stored(summaries[0]?.conversationId ?? "").length, 6, "every item is stored");
  });

  it("fans every message out to every agent, counting an agent's failures as failed items", async () => {
    const rig = turnRig({ agents: { balanced: { error: "down" } } });
    const { items, summaries } = await collect(
      rig,
      batchInput(messages.slice(0, 2), ["creative", "balanced"], true),
    );
    assert.deepEqual(items.map((i) => [i.index, i.agent, i.success]).sort(), [
      [0, "balanced", false],
      [0, "creative", true],
      [1, "balanced", false],
      [1, "creative", true],
    ]);
    assert.deepEqual(
      summaries.map((s) => [s.total, s.successful, s.failed]),
      [[4, 2, 2]],
    );
  });

  it("waits the retry hint after an item shed under overload before starting its next item", async () => {
    const rig = turnRig({ config: { limits: { batch_concurrency: 1 } } });
    let calls = 0;
    const input: BatchInput = {
      ...batchInput(messages.slice(0, 2), ["creative"], false),
      around: (turn) => (calls++ === 0 ? Promise.reject(new OverloadedError("shed", 200)) : turn()),
    };
    const started = performance.now();
    const { items } = await collect(rig, input);
    assert.deepEqual(
      items.map((i) => i.success),
      [false, true],
    );
    assert.ok(performance.now() - started >= 190, "the second item started after the hint");
  });
});
