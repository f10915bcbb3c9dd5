import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createConnection, createServer, type Server } from "node:net";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { type StragglerProxy, startStragglerProxy } from "./straggler-proxy.js";

/** A TCP server that answers every connection with `name` and closes it. */
async function namedServer(name: string): Promise<{ server: Server; url: string }> {
  const server = createServer((socket) => socket.end(name));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}/v1` };
}

/** Connects to the proxy from this process and reads what the upstream it reached says. */
function ask(proxy: StragglerProxy): Promise<string> {
  const { port } = new URL(proxy.url);
  return new Promise((resolve, reject) => {
    const socket = createConnection(Number(port), "127.0.0.1");
    let text = "";
    socket.on("data", (chunk) => {
      text += chunk.toString();
    });
    socket.on("close", () => resolve(text));
    socket.on("error", reject);
  });
}

// A process that, for every port it reads on stdin, connects there and prints what it got.
const ASKER = `
const net = require("node:net");
require("node:readline").createInterface({ input: process.stdin }).on("line", (port) => {
  let text = "";
  const socket = net.createConnection(Number(port), "127.0.0.1");
  socket.on("data", (chunk) => { text += chunk; });
  socket.on("close", () => console.log(text));
});`;

/** Asks through `child` (another process) and reads its answer. */
async function askFrom(
  child: ChildProcess,
  lines: AsyncIterator<string>,
  proxy: StragglerProxy,
): Promise<string> {
  child.stdin?.write(`${new URL(proxy.url).port}\n`);
  const { value } = await lines.next();
  return String(value);
}

describe("the straggler proxy", () => {
  const servers: Server[] = [];
  let proxy: StragglerProxy;

  before(async () => {
    const fast = await namedServer("fast");
    const slow = await namedServer("slow");
    servers.push(fast.server, slow.server);
    proxy = await startStragglerProxy(fast.url, slow.url);
  });

  after(async () => {
    await proxy.close();
    for (const server of servers) server.close();
  });

  it("sends only the routed process's connections to the slow upstream", async () => {
    assert.equal(await ask(proxy), "fast", "nothing routed");
    // pid 1 holds none of this process's sockets.
    proxy.route(1);
    assert.equal(await ask(proxy), "fast", "another process routed");
    proxy.route(process.pid);
    assert.equal(await ask(proxy), "slow", "this process routed");
    proxy.route(undefined);
    assert.equal(await ask(proxy), "fast", "routing cleared");
    assert.deepEqual(proxy.counts, { connections: 4, slow: 1 });
  });

  it("tells another process's connections from this one's", async () => {
    const child = spawn(process.execPath, ["-e", ASKER], { stdio: ["pipe", "pipe", "inherit"] });
    try {
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
      proxy.route(child.pid);
      assert.equal(await askFrom(child, lines, proxy), "slow", "the routed child");
      assert.equal(await ask(proxy), "fast", "this process, while the child is routed");
      proxy.route(process.pid);
      assert.equal(await askFrom(child, lines, proxy), "fast", "the child, while this process is routed");
    } finally {
      child.kill();
      await once(child, "exit");
    }
  });
});
