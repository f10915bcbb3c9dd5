import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { OverloadedError } from "../executor/overloaded.js";
import { Admission, type Leave } from "./admission.js";

const never = new AbortController().signal;
const later = () => new Date(Date.now() + 10_000);
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Enters `client`'s turn, recording `label` in `order` once it is admitted. */
function enterAs(admission: Admission, order: string[], client: string, label: string): Promise<Leave> {
  return admission.enter(client, never, later()).then((leave) => {
    order.push(label);
    return leave;
  });
}

describe("Admission", { timeout: 5000 }, () => {
  it("admits up to its limit at once; the next turn waits for a slot instead of failing", async () => {
    const admission = new Admission(2, 10);
    const first = await admission.enter("a", never, later());
    await admission.enter("a", never, later());
    const order: string[] = [];
    const third = enterAs(admission, order, "b", "third");
    await tick();
    assert.deepEqual(order, [], "no slot yet");
    assert.equal(admission.queued, 1);
    first();
    first();
    await third;
    assert.deepEqual(order, ["third"]);
    assert.equal(admission.running, 2, "leaving twice gives back one slot");
  });

  it("admits waiting turns round-robin across clients, a client with nothing waiting first", async () => {
    const admission = new Admission(1, 100);
    const order: string[] = [];
    const held: Leave[] = [await admission.enter("batch1", never, later())];
    const enter = (client: string, label: string) =>
      void admission.enter(client, never, later()).then((leave) => {
        order.push(label);
        held.push(leave);
      });
    for (const label of ["b1-1", "b1-2", "b1-3"]) enter("batch1", label);
    for (const label of ["b2-1", "b2-2"]) enter("batch2", label);
    const finishOne = async () => {
      held.shift()?.();
      await tick();
    };
    await finishOne();
    await finishOne();
    assert.deepEqual(order, ["b1-1", "b2-1"]);
    // A Chat arriving behind three batch items is admitted next, then the batches take turns again.
    enter("chat", "chat");
    for (let i = 0; i < 4; i += 1) await finishOne();
    assert.deepEqual(order, ["b1-1", "b2-1", "chat", "b1-2", "b2-2", "b1-3"]);
  });

  it("when its queue is full, refuses the newest turn of the client with the most waiting with a retry hint", async () => {
    const admission = new Admission(1, 2);
    const waiting = new AbortController();
    await admission.enter("batch", never, later());
    const older = admission.enter("batch", waiting.signal, later());
    const newest = admission.enter("batch", waiting.signal, later());
    const chat = admission.enter("chat", waiting.signal, later());
    await assert.rejects(newest, (err: unknown) => {
      assert.ok(err instanceof OverloadedError);
      assert.equal(err.code, status.RESOURCE_EXHAUSTED);
      assert.ok(err.retryAfterMs > 0);
      assert.match(err.message, /admission_queue_limit/);
      return true;
    });
    assert.equal(admission.queued, 2);
    // The same client's next turn is now the newest of the busiest: refused itself.
    await assert.rejects(admission.enter("batch", waiting.signal, later()), OverloadedError);
    assert.equal(admission.queued, 2, "the older batch turn and the chat wait");
    waiting.abort();
    await assert.rejects(older, /cancelled/);
    await assert.rejects(chat, /cancelled/);
  });

  it("with a queue limit of 0 refuses a turn past the limit at once", async () => {
    const admission = new Admission(1, 0);
    await admission.enter("a", never, later());
    await assert.rejects(admission.enter("b", never, later()), (err: unknown) => {
      assert.ok(err instanceof OverloadedError);
      return true;
    });
  });

  it("gives up a waiting turn with DEADLINE_EXCEEDED at its deadline and CANCELLED when its caller cancels", async () => {
    const admission = new Admission(1, 10);
    const leave = await admission.enter("a", never, later());
    const started = Date.now();
    await assert.rejects(admission.enter("b", never, new Date(Date.now() + 50)), (err: { code: number }) => {
      assert.equal(err.code, status.DEADLINE_EXCEEDED);
      return true;
    });
    assert.ok(Date.now() - started >= 45, "it waited until the deadline");
    const controller = new AbortController();
    const cancelled = admission.enter("c", controller.signal, later());
    controller.abort();
    await assert.rejects(cancelled, (err: { code: number }) => {
      assert.equal(err.code, status.CANCELLED);
      return true;
    });
    assert.equal(admission.queued, 0);
    leave();
    assert.equal(admission.running, 0, "neither took a slot");
  });
});
