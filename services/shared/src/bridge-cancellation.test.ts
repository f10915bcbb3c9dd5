import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ServiceError, status } from "@grpc/grpc-js";
import { abortedWithin, type BridgeRig, startBridgeRig, within } from "./bridge-test-rig.js";
import type { CallContext } from "./call-context.js";

/** The context of the handler call that started last, and a promise that resolves when one starts. */
let started: { context: CallContext } | undefined;
let onStart: () => void = () => {};
function nextStart(): Promise<CallContext> {
  started = undefined;
  return new Promise((resolve) => {
    onStart = () => resolve((started as { context: CallContext }).context);
  });
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

describe("a client's cancellation reaches the handler", () => {
  let rig: BridgeRig;
  before(async () => {
    rig = await startBridgeRig({
      generate: async (_request, context) => {
        started = { context };
        onStart();
        await untilAborted(context.signal);
        return {};
      },
      async *generateStream(_request, context) {
        started = { context };
        onStart();
        yield { event: { case: "delta", value: "one" } };
        await untilAborted(context.signal);
      },
    });
  });
  after(() => rig.close());

  it("aborting a unary call's signal aborts the handler's signal and the client sees CANCELLED", {
    timeout: 5000,
  }, async () => {
    const handler = nextStart();
    const controller = new AbortController();
    const call = rig.client.generate({ message: "hi" }, { signal: controller.signal, deadline: within() });
    const context = await handler;
    assert.equal(context.signal.aborted, false);
    controller.abort();
    await assert.rejects(call, (err: ServiceError) => err.code === status.CANCELLED);
    await abortedWithin(context.signal, 2000);
  });

  it("aborting a server stream's signal mid-stream aborts the handler's signal", {
    timeout: 5000,
  }, async () => {
    const handler = nextStart();
    const controller = new AbortController();
    const stream = rig.client.generateStream(
      { message: "hi" },
      { signal: controller.signal, deadline: within() },
    );
    const reading = (async () => {
      for await (const _ of stream) controller.abort();
    })();
    const context = await handler;
    await assert.rejects(reading, (err: ServiceError) => err.code === status.CANCELLED);
    await abortedWithin(context.signal, 2000);
  });

  it("a client that stops iterating a server stream cancels the handler", { timeout: 5000 }, async () => {
    const handler = nextStart();
    for await (const _ of rig.client.generateStream({ message: "hi" }, { deadline: within() })) break;
    await abortedWithin((await handler).signal, 2000);
  });

  it("each call has its own signal: one call ending aborts only its own handler", {
    timeout: 5000,
  }, async () => {
    const first = nextStart();
    const controller = new AbortController();
    const call = rig.client.generate({ message: "a" }, { signal: controller.signal, deadline: within() });
    const firstContext = await first;
    const second = nextStart();
    const other = rig.client.generate({ message: "b" }, { deadline: within(300) });
    const secondContext = await second;
    await assert.rejects(other, (err: ServiceError) => err.code === status.DEADLINE_EXCEEDED);
    await abortedWithin(secondContext.signal, 2000);
    assert.equal(firstContext.signal.aborted, false, "only the call that ended may be aborted");
    controller.abort();
    await assert.rejects(call);
  });
});
