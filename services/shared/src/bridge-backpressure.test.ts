import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { type BridgeRig, startBridgeRig, within } from "./bridge-test-rig.js";

const TOTAL = 2000;
const CHUNK = "x".repeat(16 * 1024);
/** Far more than grpc-js's buffers and the window hold (a few dozen messages), far less than TOTAL. */
const BOUND = 200;

/** How many messages the handler has produced in the current call, and whether it has returned. */
let produced = 0;
let finished = false;

describe("server streams respect a slow reader", () => {
  let rig: BridgeRig;
  before(async () => {
    rig = await startBridgeRig({
      async *generateStream() {
        finished = false;
        try {
          for (produced = 0; produced < TOTAL; ) {
            produced += 1;
            yield { event: { case: "delta", value: CHUNK } };
          }
        } finally {
          finished = true;
        }
      },
    });
  });
  after(() => rig.close());

  it("a paused reader with a small window stops the handler instead of the server buffering everything", {
    timeout: 30_000,
  }, async () => {
    const client = rig.connect({ "grpc-node.flow_control_window": 16 * 1024 });
    let consumed = 0;
    let mostAhead = 0;
    let aheadWhilePaused = -1;
    for await (const message of client.generateStream({}, { deadline: within(25_000) })) {
      assert.equal(message.event.case, "delta");
      consumed += 1;
      if (consumed === 10) {
        await delay(500);
        aheadWhilePaused = produced - consumed;
      }
      mostAhead = Math.max(mostAhead, produced - consumed);
    }
    assert.equal(consumed, TOTAL, "every message arrives in the end");
    assert.ok(
      aheadWhilePaused < BOUND,
      `the handler ran ${aheadWhilePaused} messages ahead of a paused reader`,
    );
    assert.ok(mostAhead < BOUND, `the handler ran up to ${mostAhead} messages ahead of the reader`);
    client.close();
  });

  it("a reader that gives up while the handler waits for drain releases the handler", {
    timeout: 10_000,
  }, async () => {
    const client = rig.connect({ "grpc-node.flow_control_window": 16 * 1024 });
    for await (const _ of client.generateStream({}, { deadline: within(8000) })) {
      await delay(300);
      assert.equal(finished, false, "the handler is held by back-pressure");
      break;
    }
    const end = Date.now() + 2000;
    while (!finished && Date.now() < end) await delay(20);
    assert.equal(finished, true, "the handler must return once its reader is gone");
    assert.ok(produced < BOUND, `the handler produced ${produced} messages for a reader that took one`);
    client.close();
  });
});
