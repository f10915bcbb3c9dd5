import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HealthState } from "./health.js";
import { Metrics } from "./metrics.js";

describe("the metrics port's /healthz", () => {
  it("answers 200 while the gRPC server is SERVING and 503 once it shuts down", async () => {
    const health = new HealthState();
    health.set("", true);
    const server = await new Metrics("healthz-test").listen("127.0.0.1", 0, health);
    try {
      const url = `http://127.0.0.1:${server.port}/healthz`;
      const serving = await fetch(url);
      assert.equal(serving.status, 200);
      assert.equal(await serving.text(), "SERVING\n");
      health.shutdown();
      const draining = await fetch(url);
      assert.equal(draining.status, 503);
      assert.equal(await draining.text(), "NOT_SERVING\n");
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/metrics`)).status, 200);
    } finally {
      await server.close();
    }
  });

  it("is not served when no health is given", async () => {
    const server = await new Metrics("healthz-test-2").listen("127.0.0.1", 0);
    try {
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status, 404);
    } finally {
      await server.close();
    }
  });
});
