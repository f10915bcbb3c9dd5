import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type RunningSimulator, startSimulator } from "@chorus/llm-sim";
import { MODEL_DOWN_KEY, MODEL_FAILURE_KEY, RETRY_AFTER_KEY } from "@chorus/shared";
import { type Metadata, status } from "@grpc/grpc-js";
import { type Rig, soon, startRig, zeroSimulator } from "./testing/test-rig.js";

type GrpcError = { code: status; details: string; metadata: Metadata };

async function failure(call: Promise<unknown>): Promise<GrpcError> {
  try {
    await call;
  } catch (err) {
    return err as GrpcError;
  }
  return assert.fail("the call should have failed");
}

const trailer = (err: GrpcError, key: string) => err.metadata.get(key)[0];

describe("an agent replica whose model endpoint goes down (llm.breaker defaults: 5 failures, 500 ms)", () => {
  let rig: Rig;
  let revived: RunningSimulator | undefined;
  before(async () => {
    rig = await startRig();
  });
  after(async () => {
    await rig.close();
    await revived?.close();
  });

  const generate = () => rig.client.generate({ turnId: "t", message: "Anyone there?" }, { deadline: soon() });

  it("fails with trailers saying the model failed, opens after five, then fails at once naming the endpoint", async () => {
    await generate();
    await rig.sim.close();
    for (let i = 1; i <= 5; i += 1) {
      const err = await failure(generate());
      assert.equal(err.code, status.UNAVAILABLE, err.details);
      assert.equal(trailer(err, MODEL_FAILURE_KEY), "unavailable");
      assert.equal(trailer(err, MODEL_DOWN_KEY), i === 5 ? rig.sim.url : undefined, `failure ${i}`);
    }
    const times: number[] = [];
    let fast: GrpcError | undefined;
    for (let i = 0; i < 21; i += 1) {
      const started = performance.now();
      fast = await failure(generate());
      times.push(performance.now() - started);
    }
    fast ??= assert.fail("no call was made");
    const median = times.sort((a, b) => a - b)[10] ?? Number.NaN;
    assert.equal(fast.code, status.UNAVAILABLE);
    assert.match(
      fast.details,
      new RegExp(
        `^agent tester: model endpoint ${rig.sim.url} is down: circuit breaker open after 5 consecutive failures`,
      ),
    );
    assert.equal(trailer(fast, MODEL_DOWN_KEY), rig.sim.url);
    const retryAfter = Number(trailer(fast, RETRY_AFTER_KEY));
    assert.ok(retryAfter > 0 && retryAfter <= 500, `retry-after-ms ${retryAfter}`);
    // The model is never called: a failure costs one gRPC round trip, even on a busy machine.
    assert.ok(median < 25, `median time to fail ${median.toFixed(1)} ms`);
    const described = await rig.client.describe({}, { deadline: soon() });
    assert.equal(described.modelBreaker?.state, "open");
    assert.equal(described.modelBreaker?.endpoint, rig.sim.url);
    assert.equal(described.modelBreaker?.consecutiveFailures, 5);
    assert.match(described.modelBreaker?.lastFailure ?? "", /ECONNREFUSED|cannot reach/);
  });

  it("answers again once the model is back and the cool-down has passed, and reports the breaker closed", async () => {
    revived = await startSimulator({ ...zeroSimulator, port: rig.sim.port });
    const back = performance.now();
    let answered = false;
    while (!answered && performance.now() - back < 2000) {
      answered = await generate().then(
        () => true,
        () => false,
      );
      if (!answered) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(answered, "no answer within 2 s of the model's return");
    assert.ok(
      performance.now() - back <= 1000,
      `answered ${(performance.now() - back).toFixed(0)} ms after the return`,
    );
    const described = await rig.client.describe({}, { deadline: soon() });
    assert.equal(described.modelBreaker?.state, "closed");
    assert.equal(described.modelBreaker?.consecutiveFailures, 0);
  });
});
