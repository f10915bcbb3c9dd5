import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { status } from "@grpc/grpc-js";
import { abortedWithin, type BridgeRig, startBridgeRig, within } from "./bridge-test-rig.js";
import type { CallContext } from "./call-context.js";

const CHUNK = "x".repeat(16 * 1024);
/** Far more than grpc-js's buffers and a 16 KiB window hold (a few dozen messages), far less than the total. */
const BOUND = 200;

const heartbeat = (sequence: number) => ({ kind: { case: "heartbeat" as const, value: { sequence } } });
const task = (text: string) => ({
  kind: { case: "task" as const, value: { taskId: 1, request: { message: text } } },
});

describe("bidirectional streams through the bridge", () => {
  const rigs: BridgeRig[] = [];
  after(async () => {
    for (const rig of rigs) await rig.close();
  });
  async function rig(taskChannel: Parameters<typeof startBridgeRig>[0]["taskChannel"]) {
    const started = await startBridgeRig({ taskChannel });
    rigs.push(started);
    return started;
  }

  it("carries messages both ways while both sides stay open, in order, and ends with OK after a half-close", async () => {
    const { client } = await rig(async function* (requests) {
      for await (const request of requests) {
        if (request.kind.case === "heartbeat")
          yield { event: { case: "heartbeat", value: request.kind.value } };
      }
      yield { freeSlots: 7, event: { case: "credit", value: {} } };
    });
    const call = client.taskChannel({ deadline: within() });
    const echoes: number[] = [];
    const reader = (async () => {
      for await (const response of call) {
        if (response.event.case === "heartbeat") echoes.push(response.event.value.sequence);
        else return response.freeSlots;
      }
      return -1;
    })();
    for (let i = 1; i <= 50; i += 1) {
      call.write(heartbeat(i));
      // Each answer arrives while the call is still open: the stream is really bidirectional.
      while (echoes.length < i) await delay(1);
    }
    call.end();
    assert.equal(await reader, 7, "the server's last message comes after the client half-closed");
    assert.deepEqual(
      echoes,
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
  });

  it("holds a handler to a reader that stops reading", { timeout: 30_000 }, async () => {
    let produced = 0;
    const { connect } = await rig(async function* () {
      for (produced = 0; produced < 2000; produced += 1)
        yield { event: { case: "delta", value: { text: CHUNK } } };
    });
    const client = connect({ "grpc-node.flow_control_window": 16 * 1024 });
    const call = client.taskChannel({ deadline: within(25_000) });
    let consumed = 0;
    let mostAhead = 0;
    for await (const _ of call) {
      consumed += 1;
      if (consumed === 10) await delay(500);
      mostAhead = Math.max(mostAhead, produced - consumed);
    }
    assert.equal(consumed, 2000);
    assert.ok(mostAhead < BOUND, `the handler ran up to ${mostAhead} messages ahead of its reader`);
  });

  it("tells a writer to wait when the server reads slowly, and refuses writes beyond maxBuffered", {
    timeout: 30_000,
  }, async () => {
    let read = 0;
    const { connect } = await rig(async function* (requests) {
      for await (const _ of requests) {
        read += 1;
        await delay(20);
      }
      yield { event: { case: "credit", value: {} } };
    });
    const client = connect({ "grpc-node.flow_control_window": 16 * 1024 });
    const call = client.taskChannel({ deadline: within(25_000), maxBuffered: 40 });
    const text = "y".repeat(8 * 1024);
    let firstFull = -1;
    for (let i = 0; i < 40; i += 1) if (!call.write(task(text)) && firstFull < 0) firstFull = i;
    assert.ok(firstFull >= 0 && firstFull < 40, `write said the buffer was full at message ${firstFull}`);
    assert.throws(
      () => call.write(task(text)),
      (err: { code: number }) => err.code === status.RESOURCE_EXHAUSTED,
    );
    assert.ok(read < 20, `the server had read ${read} messages`);
    await call.drained();
    call.write(task(text));
    call.end();
    for await (const _ of call) {
    }
    assert.equal(read, 41, "every message written was delivered");
  });

  it("tells the handler when the client cancels, and stops its reading", async () => {
    let seen: CallContext | undefined;
    let readingEnded = false;
    const { client } = await rig(async function* (requests, context) {
      seen = context;
      try {
        for await (const _ of requests) yield { event: { case: "credit", value: {} } };
      } finally {
        readingEnded = true;
      }
    });
    const call = client.taskChannel({ deadline: within() });
    call.write(heartbeat(1));
    for await (const _ of call) break;
    const context = seen ?? assert.fail("the handler never ran");
    await abortedWithin(context.signal, 2000);
    const end = Date.now() + 2000;
    while (!readingEnded && Date.now() < end) await delay(10);
    assert.equal(readingEnded, true);
  });

  it("ends the call with the handler's status, and with RESOURCE_EXHAUSTED for a message over the method's bound", async () => {
    const { client } = await rig(async function* (requests) {
      for await (const request of requests) {
        if (request.kind.case === "cancel")
          throw Object.assign(new Error("no such task"), { code: status.NOT_FOUND });
        yield { event: { case: "credit", value: {} } };
      }
    });
    const failed = client.taskChannel({ deadline: within() });
    failed.write({ kind: { case: "cancel", value: { taskId: 9 } } });
    await assert.rejects(
      (async () => {
        for await (const _ of failed) {
        }
      })(),
      (err: { code: number; details: string }) =>
        err.code === status.NOT_FOUND && err.details === "no such task",
    );
    const big = client.taskChannel({ deadline: within() });
    big.write(heartbeat(1));
    big.write(task("z".repeat(64 * 1024)));
    const received: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const response of big) received.push(response.event.case ?? "");
      })(),
      (err: { code: number }) => err.code === status.RESOURCE_EXHAUSTED,
    );
    assert.deepEqual(received, ["credit"], "the messages before the oversized one were served");
  });
});
