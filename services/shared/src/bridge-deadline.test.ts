import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AgentService } from "@chorus/proto";
import { type ServiceError, status } from "@grpc/grpc-js";
import { abortedWithin, type BridgeRig, startBridgeRig, within } from "./bridge-test-rig.js";
import type { CallContext } from "./call-context.js";
import { createClient, type PromiseClient } from "./grpc-client.js";

/** Contexts seen by the upstream and the downstream server, oldest first. */
const upstreamCalls: CallContext[] = [];
const downstreamCalls: CallContext[] = [];

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("deadlines cross the bridge", () => {
  let downstream: BridgeRig;
  let upstream: BridgeRig;
  let forward: PromiseClient<typeof AgentService>;
  before(async () => {
    downstream = await startBridgeRig({
      generate: async (_request, context) => {
        downstreamCalls.push(context);
        await untilAborted(context.signal);
        return {};
      },
      describe: async (_request, context) => {
        downstreamCalls.push(context);
        return {};
      },
    });
    forward = createClient(AgentService, downstream.server.address);
    upstream = await startBridgeRig({
      // A server-to-server call the way services make them: the parent's deadline and signal.
      generate: (request, context) =>
        forward.generate(request, { deadline: context.deadline, signal: context.signal }),
      describe: async (_request, context) => {
        upstreamCalls.push(context);
        return {};
      },
    });
  });
  after(async () => {
    forward.close();
    await upstream.close();
    await downstream.close();
  });

  it("the client's deadline arrives in the handler's context, to within 100 ms", {
    timeout: 5000,
  }, async () => {
    const deadline = within(30_000);
    await upstream.client.describe({}, { deadline });
    const seen = upstreamCalls.at(-1)?.deadline;
    assert.ok(seen, "the handler must see a deadline");
    assert.ok(
      Math.abs(seen.getTime() - deadline.getTime()) < 100,
      `${seen.toISOString()} vs ${deadline.toISOString()}`,
    );
  });

  it("a call without a deadline gives the handler none", { timeout: 5000 }, async () => {
    upstreamCalls.length = 0;
    await upstream.client.describe({});
    assert.equal(upstreamCalls.length, 1);
    assert.equal(upstreamCalls.at(-1)?.deadline, undefined);
  });

  it("when the deadline passes the client sees DEADLINE_EXCEEDED and the handler's signal aborts", {
    timeout: 5000,
  }, async () => {
    downstreamCalls.length = 0;
    const call = downstream.client.generate({ message: "slow" }, { deadline: within(300) });
    await assert.rejects(call, (err: ServiceError) => err.code === status.DEADLINE_EXCEEDED);
    await until(() => downstreamCalls.length === 1, 1000);
    await abortedWithin((downstreamCalls[0] as CallContext).signal, 2000);
  });

  it("a server-to-server call carries the parent's deadline to the next hop", { timeout: 5000 }, async () => {
    downstreamCalls.length = 0;
    const deadline = within(20_000);
    const controller = new AbortController();
    const call = upstream.client.generate({ message: "hop" }, { deadline, signal: controller.signal });
    await until(() => downstreamCalls.length === 1, 2000);
    const hop = downstreamCalls[0] as CallContext;
    assert.ok(hop.deadline, "the next hop must have a deadline");
    assert.ok(Math.abs(hop.deadline.getTime() - deadline.getTime()) < 100);
    controller.abort();
    await assert.rejects(call);
  });

  it("cancelling the parent call cancels the call it made to the next hop", { timeout: 5000 }, async () => {
    downstreamCalls.length = 0;
    const controller = new AbortController();
    const call = upstream.client.generate(
      { message: "hop" },
      { deadline: within(), signal: controller.signal },
    );
    await until(() => downstreamCalls.length === 1, 2000);
    const hop = downstreamCalls[0] as CallContext;
    assert.equal(hop.signal.aborted, false);
    controller.abort();
    await assert.rejects(call, (err: ServiceError) => err.code === status.CANCELLED);
    await abortedWithin(hop.signal, 2000);
  });
});
