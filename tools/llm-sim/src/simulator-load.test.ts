import assert from "node:assert/strict";
import { describe, it } from "node:test";
import OpenAI from "openai";
import { clientOf, messages, post, until, withSimulator } from "./testing/simulator-rig.js";

describe("llm-sim load and failure knobs", () => {
  it("answers 500 to every request when failure_rate is 1", () =>
    withSimulator({ failure_rate: 1 }, async (sim) => {
      await assert.rejects(
        clientOf(sim).chat.completions.create({ model: "m", messages }),
        (err: unknown) => err instanceof OpenAI.InternalServerError && err.status === 500,
      );
      assert.equal(sim.stats().failed, 1);
    }));

  it("queues beyond max_concurrent and answers 429 beyond queue_limit", () =>
    withSimulator({ max_concurrent: 1, queue_limit: 1, ttft_ms: 60_000 }, async (sim) => {
      const controller = new AbortController();
      const running = post(sim, { messages, stream: true }, controller.signal).catch(() => undefined);
      await until(sim, (stats) => stats.running === 1);
      const queued = post(sim, { messages }, controller.signal).catch(() => undefined);
      await until(sim, (stats) => stats.queued === 1);
      const refused = await post(sim, { messages });
      assert.equal(refused.status, 429);
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "queue_full");
      controller.abort();
      await Promise.all([running, queued]);
      const stats = await until(sim, (s) => s.running === 0 && s.queued === 0 && s.aborted === 2);
      assert.equal(stats.rejected, 1);
      assert.equal(stats.peakRunning, 1);
    }));

  it("serves queued requests one at a time in order", () =>
    withSimulator({ max_concurrent: 1, queue_limit: 10, itl_ms: 1 }, async (sim) => {
      const client = clientOf(sim);
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => client.chat.completions.create({ model: "m", messages })),
      );
      assert.deepEqual(
        answers.map((answer) => answer.id),
        ["chatcmpl-sim-1", "chatcmpl-sim-2", "chatcmpl-sim-3", "chatcmpl-sim-4", "chatcmpl-sim-5"],
      );
      assert.equal(sim.stats().peakRunning, 1);
      assert.equal(sim.stats().completed, 5);
    }));

  it("stops generating when the client disconnects mid-stream", () =>
    withSimulator({ tokens: 4000, itl_ms: 20 }, async (sim) => {
      const controller = new AbortController();
      const stream = await clientOf(sim).chat.completions.create(
        { model: "m", messages, stream: true },
        { signal: controller.signal },
      );
      let chunks = 0;
      for await (const _chunk of stream) {
        if (++chunks === 3) controller.abort();
      }
      const stats = await until(sim, (s) => s.aborted === 1 && s.running === 0);
      assert.equal(stats.completed, 0);
      assert.equal(stats.completionTokens, 0);
    }));
});
