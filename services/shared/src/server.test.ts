import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "@chorus/proto";
import { status } from "@grpc/grpc-js";
import { createClient } from "./grpc-client.js";
import { createLogger } from "./logger.js";
import { type RunningServer, serve } from "./server.js";

describe("serve", () => {
  let server: RunningServer;
  before(async () => {
    server = await serve({ host: "127.0.0.1", port: 0, services: [], log: createLogger("test", "silent") });
  });
  after(() => server.close(100));

  it("answers health checks for the whole server", async () => {
    const client = createClient(Health, server.address);
    const response = await client.check({ service: "" }, { deadline: new Date(Date.now() + 5000) });
    assert.equal(response.status, Serving.SERVING);
    client.close();
  });

  it("returns NOT_FOUND for an unknown service name", async () => {
    const client = createClient(Health, server.address);
    await assert.rejects(client.check({ service: "nope.Service" }), (err: { code: number }) => {
      assert.equal(err.code, status.NOT_FOUND);
      return true;
    });
    client.close();
  });

  it("streams health changes to watchers", async () => {
    const client = createClient(Health, server.address);
    const controller = new AbortController();
    const seen: Serving[] = [];
    for await (const response of client.watch({ service: "" }, { signal: controller.signal })) {
      seen.push(response.status);
      if (seen.length === 1) server.health.set("", false);
      else break;
    }
    controller.abort();
    assert.deepEqual(seen, [Serving.SERVING, Serving.NOT_SERVING]);
    server.health.set("", true);
    client.close();
  });
});
