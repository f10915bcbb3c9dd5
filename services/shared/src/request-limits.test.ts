import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { AgentService } from "@chorus/proto";
import { Client, credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { pino } from "pino";
import type { AgentHandlers } from "./bridge-test-rig.js";
import { createClient } from "./grpc-client.js";
import { bind, type RunningServer, serve } from "./server.js";
import { quoted, RpcError } from "./status.js";
import { grpcFrame, rawGrpcCall, rawSession } from "./testing/raw-grpc.js";
import { DEFAULT_TRANSPORT_LIMITS, type TransportLimitSettings } from "./transport-limits.js";

const GENERATE = "/chorus.v1.AgentService/Generate";
const GENERATE_STREAM = "/chorus.v1.AgentService/GenerateStream";
const soon = () => new Date(Date.now() + 5000);

/** Handlers that count their calls; generate throws `nextError` when it is set. */
function countingHandlers(calls: { count: number }, nextError: { value?: unknown }): AgentHandlers {
  return {
    generate: async () => {
      calls.count += 1;
      if (nextError.value) throw nextError.value;
      return { text: "ok" };
    },
    async *generateStream() {
      calls.count += 1;
      yield { event: { case: "delta", value: "ok" } };
    },
    describe: async () => ({}),
    async *taskChannel() {},
  };
}

async function startServer(limits?: TransportLimitSettings) {
  const calls = { count: 0 };
  const nextError: { value?: unknown } = {};
  const server = await serve({
    host: "127.0.0.1",
    port: 0,
    log: pino({ level: "silent" }),
    services: [
      bind(AgentService, countingHandlers(calls, nextError), { generate: 1024, generateStream: 1024 }),
    ],
    limits,
  });
  return { server, calls, nextError };
}

/** A unary or server-streaming call of `path` with raw request bytes; resolves with the status. */
function callRaw(
  address: string,
  path: string,
  bytes: Buffer,
  metadata = new Metadata(),
  streaming = false,
): Promise<{ code: status; details: string; ms: number }> {
  const client = new Client(address, credentials.createInsecure());
  const same = (b: Buffer) => b;
  const started = performance.now();
  return new Promise<{ code: status; details: string; ms: number }>((resolve) => {
    const done = (err: ServiceError | null) =>
      resolve({
        code: err ? err.code : status.OK,
        details: err ? err.details : "",
        ms: performance.now() - started,
      });
    if (!streaming) {
      client.makeUnaryRequest(path, same, same, bytes, metadata, { deadline: soon() }, done);
      return;
    }
    const call = client.makeServerStreamRequest(path, same, same, bytes, metadata, { deadline: soon() });
    call.on("data", () => {});
    call.on("error", done);
    call.on("end", () => done(null));
  }).finally(() => client.close());
}

describe("a server bounds what one request may carry", () => {
  let server: RunningServer;
  let calls: { count: number };
  let nextError: { value?: unknown };
  before(async () => {
    ({ server, calls, nextError } = await startServer());
  });
  after(() => server.close(200));

  it("refuses a frame over the largest method's bound from its length prefix, before its body is sent", async () => {
    const session = rawSession(server.address);
    try {
      // Only the 5-byte prefix claiming 8 MiB, and the request left open: an answer cannot come from reading it.
      const outcome = await rawGrpcCall(session, GENERATE, [grpcFrame(new Uint8Array(0), 8 * 2 ** 20)], {
        endRequest: false,
        timeoutMs: 5000,
      });
      assert.equal(outcome.timedOut, false, "the server waited for the body");
      assert.equal(outcome.code, status.RESOURCE_EXHAUSTED, outcome.details);
      assert.match(outcome.details, /larger than max \(8388608 vs 16384\)/);
      assert.ok(outcome.ms < 2000, `answered after ${outcome.ms} ms`);
    } finally {
      session.close();
    }
  });

  for (const [kind, streaming] of [
    ["unary", false],
    ["server-streaming", true],
  ] as const) {
    const path = streaming ? GENERATE_STREAM : GENERATE;
    it(`a ${kind} method refuses a request over its own bound (under the server's) with RESOURCE_EXHAUSTED naming it`, async () => {
      const before = calls.count;
      const client = createClient(AgentService, server.address);
      try {
        const call = streaming
          ? (async () => {
              for await (const _ of client.generateStream(
                { message: "x".repeat(2000) },
                { deadline: soon() },
              ));
            })()
          : client.generate({ message: "x".repeat(2000) }, { deadline: soon() });
        await assert.rejects(call, (err: ServiceError) => {
          assert.equal(err.code, status.RESOURCE_EXHAUSTED, err.details);
          assert.match(
            err.details,
            new RegExp(`^request is 200[3-9] bytes; ${path.slice(1)} accepts at most 1024$`),
          );
          return true;
        });
        assert.equal(calls.count, before, "the handler ran");
      } finally {
        client.close();
      }
    });

    const malformed: [string, Buffer, RegExp][] = [
      ["a truncated field", Buffer.from([0x12, 0x0a, 0x61]), /^malformed request: premature EOF/],
      ["an illegal wire type", Buffer.from([0x17]), /^malformed request: illegal tag/],
      [
        "invalid UTF-8 in a string field",
        Buffer.from([0x12, 0x02, 0xff, 0xfe]),
        /^malformed request: a string field is not valid UTF-8/,
      ],
    ];
    for (const [what, bytes, details] of malformed) {
      it(`a ${kind} method answers ${what} with INVALID_ARGUMENT saying the request is malformed`, async () => {
        const before = calls.count;
        const outcome = await callRaw(server.address, path, bytes, new Metadata(), streaming);
        assert.equal(outcome.code, status.INVALID_ARGUMENT, `${status[outcome.code]}: ${outcome.details}`);
        assert.match(outcome.details, details);
        const type = streaming ? "GenerateStreamRequest" : "GenerateRequest";
        assert.ok(outcome.details.endsWith(`(not a valid chorus.v1.${type})`), outcome.details);
        assert.equal(calls.count, before, "the handler ran");
      });
    }
  }

  it("health checks, served by the same bridge, answer malformed bytes with INVALID_ARGUMENT too", async () => {
    const outcome = await callRaw(
      server.address,
      "/grpc.health.v1.Health/Check",
      Buffer.from([0x0a, 0x05, 0x61]),
    );
    assert.equal(outcome.code, status.INVALID_ARGUMENT, outcome.details);
    assert.match(
      outcome.details,
      /^malformed request: premature EOF \(not a valid grpc\.health\.v1\.HealthCheckRequest\)$/,
    );
  });

  it("refuses 100 KB of metadata with RESOURCE_EXHAUSTED naming limits.max_metadata_bytes, before the handler", async () => {
    const before = calls.count;
    const metadata = new Metadata();
    metadata.set("x-first", "a".repeat(50_000));
    metadata.set("x-second", "b".repeat(50_000));
    const outcome = await callRaw(server.address, GENERATE, Buffer.from([0x12, 0x01, 0x61]), metadata);
    assert.equal(outcome.code, status.RESOURCE_EXHAUSTED, outcome.details);
    assert.match(
      outcome.details,
      /^request metadata is 100\d{3} bytes; the limit is 16384 \(limits\.max_metadata_bytes\)$/,
    );
    assert.equal(calls.count, before, "the handler ran");
  });

  it("answers metadata under the limit", async () => {
    const metadata = new Metadata();
    metadata.set("x-token", "t".repeat(8000));
    const outcome = await callRaw(server.address, GENERATE, Buffer.from([0x12, 0x01, 0x61]), metadata);
    assert.equal(outcome.code, status.OK, outcome.details);
  });

  it("a single 100 KB header HTTP/2 cannot decode gets an error at once, not a hang, and the server goes on", async () => {
    const metadata = new Metadata();
    // Random text does not compress: nghttp2 resets the stream (COMPRESSION_ERROR) before grpc-js sees it.
    metadata.set("x-big", randomBytes(75_000).toString("base64"));
    const outcome = await callRaw(server.address, GENERATE, Buffer.from([0x12, 0x01, 0x61]), metadata);
    assert.notEqual(outcome.code, status.OK);
    assert.notEqual(outcome.code, status.DEADLINE_EXCEEDED, "the call hung until its deadline");
    assert.ok(outcome.ms < 2000, `answered after ${outcome.ms} ms`);
    const next = await callRaw(server.address, GENERATE, Buffer.from([0x12, 0x01, 0x61]));
    assert.equal(next.code, status.OK, next.details);
  });

  it("cuts a handler's status message to 1024 characters, so C-core clients do not take it for RESOURCE_EXHAUSTED", async () => {
    nextError.value = new RpcError(status.INVALID_ARGUMENT, `message: ${"m".repeat(10_000)}`);
    try {
      const outcome = await callRaw(server.address, GENERATE, Buffer.from([0x12, 0x01, 0x61]));
      assert.equal(outcome.code, status.INVALID_ARGUMENT);
      assert.equal(outcome.details.length, 1024);
      assert.ok(outcome.details.endsWith("m…"));
    } finally {
      nextError.value = undefined;
    }
  });
});

describe("a server's connection limits come from its configuration", () => {
  it("advertises limits.max_concurrent_streams to every connection", async () => {
    const { server } = await startServer({ ...DEFAULT_TRANSPORT_LIMITS, max_concurrent_streams: 7 });
    const session = rawSession(server.address);
    try {
      const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve) =>
        session.once("remoteSettings", resolve),
      );
      assert.equal(settings.maxConcurrentStreams, 7);
    } finally {
      session.close();
      await server.close(200);
    }
  });

  it("holds one connection's queued output to limits.session_memory_mb: past it new calls are refused", async () => {
    const megabyte = "a".repeat(2 ** 20);
    const handlers: AgentHandlers = {
      generate: async () => ({}),
      async *generateStream() {
        for (let i = 0; i < 50; i += 1) yield { event: { case: "delta", value: megabyte } };
      },
      describe: async () => ({}),
      async *taskChannel() {},
    };
    for (const [memoryMb, refused] of [
      [1, true],
      [32, false],
    ] as const) {
      const server = await serve({
        host: "127.0.0.1",
        port: 0,
        log: pino({ level: "silent" }),
        services: [bind(AgentService, handlers)],
        limits: { ...DEFAULT_TRANSPORT_LIMITS, session_memory_mb: memoryMb },
      });
      const session = rawSession(server.address);
      try {
        // A client that reads nothing: the first stream's answer queues up in the server's session.
        const open = async () => {
          const stream = session.request({
            ":method": "POST",
            ":path": GENERATE_STREAM,
            "content-type": "application/grpc",
            te: "trailers",
          });
          stream.pause();
          stream.on("error", () => {});
          stream.end(grpcFrame(Buffer.from([0x12, 0x01, 0x61])));
          await new Promise((resolve) => setTimeout(resolve, 300));
          return stream;
        };
        await open();
        const second = await open();
        // ENHANCE_YOUR_CALM, which grpc-js clients report as RESOURCE_EXHAUSTED.
        if (refused) assert.equal(second.rstCode, 11, `session_memory_mb ${memoryMb}`);
        else assert.equal(second.closed, false, `session_memory_mb ${memoryMb}: reset ${second.rstCode}`);
      } finally {
        session.destroy();
        await server.close(200);
      }
    }
  });
});

describe("quoted", () => {
  const cases: [string, string, string][] = [
    ["short input whole", "poet", '"poet"'],
    ["quotes and control characters escaped", 'a"b\nc', '"a\\"b\\nc"'],
    ["64 characters whole", "x".repeat(64), `"${"x".repeat(64)}"`],
    ["longer input cut to 64 characters and …", "y".repeat(10_000), `"${"y".repeat(64)}…"`],
    ["characters, not UTF-16 halves, counted", "😀".repeat(100), `"${"😀".repeat(64)}…"`],
  ];
  for (const [what, input, expected] of cases) {
    it(`quotes ${what}`, () => assert.equal(quoted(input), expected));
  }
});
