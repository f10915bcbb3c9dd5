import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { nodeHttpFetch } from "./node-http-fetch.js";

describe("nodeHttpFetch", () => {
  let server: Server;
  let base: string;
  let releaseStream: (() => void) | undefined;

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse, body: string) => void> = {
    "/echo": (req, res, body) => {
      res.setHeader("Content-Type", "application/json");
      res.setHeader("X-Request-Id", "req-1");
      res.setHeader("Set-Cookie", ["a=1", "b=2"]);
      res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization, body }));
    },
    "/limited": (_req, res) => {
      res.writeHead(429, "Too Many Requests", { "content-type": "application/json", "retry-after": "1" });
      res.end('{"error":{"message":"slow down"}}');
    },
    "/events": (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: first\n\n");
      releaseStream = () => res.end("data: second\n\n");
    },
    "/hang": () => undefined,
    "/huge": (_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(Buffer.alloc(17 * 1024 * 1024, 0x20));
    },
  };

  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => routes[req.url ?? ""]?.(req, res, body));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it("sends method, headers and body, and reads a JSON answer with its headers", async () => {
    const response = await nodeHttpFetch(`${base}/echo`, {
      method: "POST",
      headers: { Authorization: "Bearer k", "Content-Type": "application/json" },
      body: '{"q":1}',
    });
    assert.equal(response.ok, true);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-request-id"), "req-1");
    assert.equal(response.headers.get("X-REQUEST-ID"), "req-1");
    assert.equal(response.headers.get("set-cookie"), "a=1, b=2");
    assert.equal(response.headers.get("missing"), null);
    assert.deepEqual(await response.json(), { method: "POST", auth: "Bearer k", body: '{"q":1}' });
    await assert.rejects(response.text(), /already been read/);
  });

  it("gives an error status with its text, not an exception", async () => {
    const response = await nodeHttpFetch(new URL(`${base}/limited`), { method: "POST", body: "{}" });
    assert.equal(response.ok, false);
    assert.equal(response.status, 429);
    assert.equal(response.statusText, "Too Many Requests");
    assert.equal(response.headers.get("retry-after"), "1");
    assert.equal(await response.text(), '{"error":{"message":"slow down"}}');
  });

  it("streams server-sent events as they arrive", async () => {
    const response = await nodeHttpFetch(`${base}/events`);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    assert.equal(Buffer.from(first.value ?? []).toString(), "data: first\n\n");
    releaseStream?.();
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      rest += Buffer.from(chunk.value).toString();
    }
    assert.equal(rest, "data: second\n\n");
  });

  it("rejects with an AbortError when its signal aborts", async () => {
    const controller = new AbortController();
    const pending = nodeHttpFetch(`${base}/hang`, { method: "POST", body: "{}", signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(pending, { name: "AbortError" });
  });

  it("refuses an answer larger than its bound instead of holding it", async () => {
    await assert.rejects(nodeHttpFetch(`${base}/huge`), /exceeds 16777216 bytes/);
  });

  it("refuses a body it cannot send, naming its type", async () => {
    await assert.rejects(
      nodeHttpFetch(`${base}/echo`, { method: "POST", body: new URLSearchParams("a=1") }),
      /string or byte bodies, not \[object URLSearchParams\]/,
    );
  });
});
