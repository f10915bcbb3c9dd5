import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { runAgent } from "./run-agent.js";
import {
  eventually,
  inFlightBecomes,
  rejectsWith,
  silent,
  soon,
  startRig,
  testConfig,
} from "./testing/test-rig.js";

describe("agent replica limits and failures", () => {
  it("refuses an unknown agent name", async () => {
    await assert.rejects(
      runAgent({
        config: testConfig,
        agent: "nobody",
        host: "127.0.0.1",
        port: 0,
        replicaId: "x",
        llmBaseUrl: "http://127.0.0.1:9/v1",
        apiKey: "",
        metricsPort: -1,
        log: silent,
      }),
      /unknown agent "nobody"; config defines: tester/,
    );
  });

  it("answers RESOURCE_EXHAUSTED beyond its workers, and frees the slot when a stream is cancelled", async () => {
    const rig = await startRig({ ttft_ms: 0, itl_ms: 20, tokens: 2000 });
    try {
      const controller = new AbortController();
      let deltas = 0;
      let refusal: unknown;
      try {
        for await (const _ of rig.client.generateStream(
          { message: "long story" },
          { signal: controller.signal },
        )) {
          if (++deltas < 3) continue;
          refusal = await rig.client
            .generate({ message: "one more" }, { deadline: soon() })
            .catch((err) => err);
          controller.abort();
        }
      } catch (err) {
        assert.equal((err as { code?: number }).code, status.CANCELLED);
      }
      rejectsWith(status.RESOURCE_EXHAUSTED, /agent tester: all 1 workers/)(refusal as never);
      await inFlightBecomes(rig.client, 0);
      await eventually("the model sequence ends", () => rig.sim.stats().running === 0);
      assert.equal(rig.sim.stats().aborted, 1, "the model call was aborted too");
      const description = await rig.client.describe({}, { deadline: soon() });
      assert.equal(description.failed, 0n);
      assert.ok(description.idleSeconds >= 0);
    } finally {
      await rig.close();
    }
  });

  it("maps the model server's 500 to UNAVAILABLE naming the agent", async () => {
    const rig = await startRig({ failure_rate: 1 });
    try {
      await assert.rejects(
        rig.client.generate({ message: "hello there" }, { deadline: soon() }),
        rejectsWith(status.UNAVAILABLE, /^agent tester: LLM answered HTTP 500/),
      );
      const stream = async () => {
        for await (const _ of rig.client.generateStream({ message: "hello there" }, { deadline: soon() }));
      };
      await assert.rejects(stream(), rejectsWith(status.UNAVAILABLE, /^agent tester:/));
      assert.equal((await rig.client.describe({}, { deadline: soon() })).failed, 2n);
    } finally {
      await rig.close();
    }
  });

  it("maps the model server's 429 to RESOURCE_EXHAUSTED", async () => {
    const rig = await startRig({ max_concurrent: 1, queue_limit: 0, ttft_ms: 60_000 });
    try {
      const controller = new AbortController();
      const holder = rig.sim;
      const blocked = fetch(`${holder.url}/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ messages: [{ role: "user", content: "hold" }] }),
        signal: controller.signal,
      }).catch(() => undefined);
      await eventually("the blocking request runs", () => holder.stats().running === 1);
      await assert.rejects(
        rig.client.generate({ message: "hello" }, { deadline: soon() }),
        rejectsWith(status.RESOURCE_EXHAUSTED, /HTTP 429/),
      );
      controller.abort();
      await blocked;
    } finally {
      await rig.close();
    }
  });

  it("uses the caller's deadline as the model timeout and frees the model's sequence", async () => {
    const rig = await startRig({ ttft_ms: 60_000 });
    try {
      await assert.rejects(
        rig.client.generate({ message: "slow" }, { deadline: new Date(Date.now() + 300) }),
        rejectsWith(status.DEADLINE_EXCEEDED),
      );
      await inFlightBecomes(rig.client, 0);
      await eventually("the model sequence ends", () => rig.sim.stats().running === 0);
      assert.equal(rig.sim.stats().running, 0);
    } finally {
      await rig.close();
    }
  });
});
