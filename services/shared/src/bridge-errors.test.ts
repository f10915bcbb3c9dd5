import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ServiceError, status } from "@grpc/grpc-js";
import { type BridgeRig, startBridgeRig, within } from "./bridge-test-rig.js";
import { RpcError } from "./status.js";

const SECRET = "open /var/lib/chorus/secret-db-7f3a.sqlite: permission denied";

/** What the next generate/generateStream call of the rig throws. */
let nextError: unknown;

function rejectsWithStatus(promise: Promise<unknown>, code: status, details: string) {
  return assert.rejects(promise, (err: ServiceError) => {
    assert.equal(err.code, code, `code ${status[err.code]}, want ${status[code]}`);
    assert.equal(err.details, details);
    return true;
  });
}

async function drain(stream: AsyncIterable<unknown>): Promise<number> {
  let received = 0;
  for await (const _ of stream) received += 1;
  return received;
}

describe("the bridge maps handler errors to gRPC statuses", () => {
  let rig: BridgeRig;
  before(async () => {
    rig = await startBridgeRig({
      generate: async () => {
        throw nextError;
      },
      async *generateStream() {
        yield { event: { case: "delta", value: "first" } };
        yield { event: { case: "delta", value: "second" } };
        throw nextError;
      },
    });
  });
  after(() => rig.close());

  const carried: [string, status, string][] = [
    ["INVALID_ARGUMENT", status.INVALID_ARGUMENT, "message: must not be empty"],
    ["NOT_FOUND", status.NOT_FOUND, 'conversation "c-1" not found'],
    ["RESOURCE_EXHAUSTED", status.RESOURCE_EXHAUSTED, "queue full (64 waiting)"],
    ["UNAVAILABLE", status.UNAVAILABLE, "no replica of pool creative is ready"],
  ];
  for (const [name, code, message] of carried) {
    it(`a unary handler throwing RpcError ${name} gives the client exactly that code and message`, async () => {
      nextError = new RpcError(code, message);
      await rejectsWithStatus(rig.client.generate({ message: "hi" }, { deadline: within() }), code, message);
    });
  }

  it("a grpc-js error from a downstream call keeps its code and its message without the prefix", async () => {
    nextError = Object.assign(new Error("14 UNAVAILABLE: history is down"), {
      code: status.UNAVAILABLE,
      details: "history is down",
    });
    await rejectsWithStatus(
      rig.client.generate({ message: "hi" }, { deadline: within() }),
      status.UNAVAILABLE,
      "history is down",
    );
  });

  it("an unknown error gives INTERNAL with a generic message; the detail is logged, never sent", async () => {
    rig.logLines.length = 0;
    nextError = new Error(SECRET);
    await assert.rejects(
      rig.client.generate({ message: "hi" }, { deadline: within() }),
      (err: ServiceError) => {
        assert.equal(err.code, status.INTERNAL);
        assert.equal(err.details, "internal error");
        assert.doesNotMatch(err.message, /secret-db/);
        assert.doesNotMatch(JSON.stringify(err.metadata.toJSON()), /secret-db/);
        return true;
      },
    );
    const logged = rig.logLines.find((line) => line.includes("secret-db-7f3a"));
    assert.ok(logged, "the detail must reach the server log");
    assert.match(logged, /"method":"Generate"/);
  });

  it("a thrown non-Error value also gives the generic INTERNAL", async () => {
    nextError = SECRET;
    await rejectsWithStatus(
      rig.client.generate({ message: "hi" }, { deadline: within() }),
      status.INTERNAL,
      "internal error",
    );
  });

  it("a streaming handler's RpcError reaches the client after the messages it sent", async () => {
    nextError = new RpcError(status.FAILED_PRECONDITION, "model refused the prompt");
    let received = 0;
    await rejectsWithStatus(
      (async () => {
        for await (const _ of rig.client.generateStream({ message: "hi" }, { deadline: within() }))
          received += 1;
      })(),
      status.FAILED_PRECONDITION,
      "model refused the prompt",
    );
    assert.equal(received, 2);
  });

  it("a streaming handler's unknown error gives INTERNAL with the generic message", async () => {
    nextError = new Error(SECRET);
    await rejectsWithStatus(
      drain(rig.client.generateStream({ message: "hi" }, { deadline: within() })),
      status.INTERNAL,
      "internal error",
    );
  });
});
