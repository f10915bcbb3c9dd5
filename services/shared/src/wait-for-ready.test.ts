import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "@chorus/proto";
import { status } from "@grpc/grpc-js";
import { createClient } from "./grpc-client.js";
import { createLogger } from "./logger.js";
import { serve } from "./server.js";

/** A loopback port that nothing listens on (it was free a moment ago). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  assert.ok(address && typeof address === "object");
  return address.port;
}

const fastReconnect = { "grpc.initial_reconnect_backoff_ms": 50, "grpc.max_reconnect_backoff_ms": 200 };
const log = createLogger("wait-for-ready-test", "silent");

describe("waitForReady", () => {
  it("fails a call at once with UNAVAILABLE while nothing listens, without it", async () => {
    const client = createClient(Health, `127.0.0.1:${await freePort()}`, fastReconnect);
    const started = Date.now();
    await assert.rejects(
      client.check({ service: "" }, { deadline: new Date(Date.now() + 5000) }),
      (err: { code?: number }) => err.code === status.UNAVAILABLE,
    );
    assert.ok(Date.now() - started < 2000, "failed before its deadline");
    client.close();
  });

  it("holds a call until the server starts listening, with it", async () => {
    const port = await freePort();
    const client = createClient(Health, `127.0.0.1:${port}`, fastReconnect);
    const call = client.check({ service: "" }, { deadline: new Date(Date.now() + 5000), waitForReady: true });
    await delay(400);
    const server = await serve({ host: "127.0.0.1", port, services: [], log });
    try {
      assert.equal((await call).status, Serving.SERVING);
    } finally {
      client.close();
      await server.close(100);
    }
  });

  it("still ends the call at its deadline when the server never comes", async () => {
    const client = createClient(Health, `127.0.0.1:${await freePort()}`, fastReconnect);
    await assert.rejects(
      client.check({ service: "" }, { deadline: new Date(Date.now() + 500), waitForReady: true }),
      (err: { code?: number }) => err.code === status.DEADLINE_EXCEEDED,
    );
    client.close();
  });
});
