import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { type ChorusUp, startChorusUp } from "@chorus/cli/testing";
import { ChatRequestSchema, ChatService, HistoryService } from "@chorus/proto";
import { createClient, type PromiseClient } from "@chorus/shared";
import { grpcFrame, rawGrpcCall, rawSession } from "@chorus/shared/testing";
import { Client, credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";

const CHAT = "/chorus.v1.ChatService/Chat";
const MB = 2 ** 20;
const soon = () => ({ deadline: new Date(Date.now() + 30_000) });

function expectStatus(code: status, details: RegExp) {
  return (err: ServiceError) => {
    assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code]}: ${err.details}`);
    assert.match(err.details ?? "", details);
    return true;
  };
}

/** A process's resident set size (VmRSS) or its peak since the last reset (VmHWM), in bytes. */
function memoryOf(pid: number, field: "VmRSS" | "VmHWM"): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
  assert.ok(line?.[1], `no ${field} in /proc/${pid}/status`);
  return Number(line[1]) * 1024;
}

/** A unary call with raw request bytes (grpc-js sends them as they are); resolves with the status. */
function unaryRaw(address: string, path: string, bytes: Uint8Array, metadata = new Metadata()) {
  const client = new Client(address, credentials.createInsecure());
  const same = (b: Buffer) => b;
  return new Promise<{ code: status; details: string }>((resolve) => {
    client.makeUnaryRequest(path, same, same, Buffer.from(bytes), metadata, soon(), (err) =>
      resolve(err ? { code: err.code, details: err.details } : { code: status.OK, details: "" }),
    );
  }).finally(() => client.close());
}

/** A server-streaming call with raw request bytes; resolves with the stream's final status. */
function streamRaw(address: string, path: string, bytes: Uint8Array) {
  const client = new Client(address, credentials.createInsecure());
  const same = (b: Buffer) => b;
  return new Promise<{ code: status; details: string }>((resolve) => {
    const call = client.makeServerStreamRequest(path, same, same, Buffer.from(bytes), new Metadata(), soon());
    call.on("data", () => {});
    call.on("error", (err: ServiceError) => resolve({ code: err.code, details: err.details }));
    call.on("end", () => resolve({ code: status.OK, details: "" }));
  }).finally(() => client.close());
}

const PYTHON_CALL = `
import grpc, sys
channel = grpc.insecure_channel(sys.argv[1])
call = channel.unary_unary("/chorus.v1.ChatService/Chat")
try:
    call(bytes.fromhex(sys.stdin.read()), timeout=30)
    print("OK")
except grpc.RpcError as err:
    print(err.code().name)
    print(err.details() or "")
`;

/** Chat called by Python's grpcio (C-core) with `request`; resolves with its status name and details. */
function pythonChat(address: string, request: Uint8Array): Promise<[string, string]> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "/usr/bin/python3",
      ["-c", PYTHON_CALL, address],
      { timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`python3 failed (${INSTALL}): ${stderr || error.message}`));
        const [code = "", details = ""] = stdout.split("\n");
        resolve([code, details]);
      },
    );
    child.stdin?.end(Buffer.from(request).toString("hex"));
  });
}
const INSTALL = "apt-get install python3-grpcio";

describe("the orchestrator bounds what callers can make it hold", { timeout: 300_000 }, () => {
  let mesh: ChorusUp;
  let chat: PromiseClient<typeof ChatService>;
  let history: PromiseClient<typeof HistoryService>;
  let pid: number;
  before(async () => {
    mesh = await startChorusUp();
    chat = createClient(ChatService, mesh.address);
    history = createClient(HistoryService, mesh.address);
    // Warm up every path a refused call takes, so what is measured is what the calls hold.
    for (let i = 0; i < 5; i++) await chat.chat({ message: `warm-up ${i}` }, soon());
    const stats = await chat.getStats({}, soon());
    const usage = stats.services.find((service) => service.service === "orchestrator")?.usage;
    assert.ok(usage?.pid, "GetStats names the orchestrator's process");
    pid = usage.pid;
  });
  after(async () => {
    chat?.close();
    history?.close();
    await mesh?.stop();
  });

  it("refuses an 8 MB frame on Chat from its length prefix, before the body is sent", async () => {
    const session = rawSession(mesh.address);
    try {
      const outcome = await rawGrpcCall(session, CHAT, [grpcFrame(new Uint8Array(0), 8 * MB)], {
        endRequest: false,
        timeoutMs: 5000,
      });
      assert.equal(outcome.timedOut, false, "the orchestrator waited for the body");
      assert.equal(outcome.code, status.RESOURCE_EXHAUSTED, outcome.details);
      assert.match(outcome.details, /larger than max \(8388608 vs \d+\)/);
      assert.ok(outcome.ms < 1000, `answered after ${Math.round(outcome.ms)} ms`);
    } finally {
      session.close();
    }
  });

  it("refuses 100 concurrent 8 MB Chat requests, all of them, and its RSS grows by at most 50 MB", async () => {
    const rssBefore = memoryOf(pid, "VmRSS");
    // Resets VmHWM to the current RSS, so afterwards it is the peak these requests caused.
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    const body = Buffer.alloc(8 * MB, "a");
    const prefix = grpcFrame(new Uint8Array(0), body.byteLength);
    const sessions = Array.from({ length: 4 }, () => rawSession(mesh.address));
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          rawGrpcCall(sessions[i % sessions.length] ?? assert.fail(), CHAT, [prefix, body], {
            timeoutMs: 30_000,
          }),
        ),
      );
      const refused = outcomes.filter((outcome) => outcome.code === status.RESOURCE_EXHAUSTED).length;
      assert.equal(refused, 100, JSON.stringify(outcomes.find((o) => o.code !== status.RESOURCE_EXHAUSTED)));
    } finally {
      for (const session of sessions) session.close();
    }
    const peak = memoryOf(pid, "VmHWM");
    const rssAfter = memoryOf(pid, "VmRSS");
    const grew = (peak - rssBefore) / MB;
    console.log(
      `orchestrator RSS ${(rssBefore / MB).toFixed(1)} MB before, peak ${(peak / MB).toFixed(1)} MB, ` +
        `${(rssAfter / MB).toFixed(1)} MB after 100 concurrent 8 MB requests`,
    );
    assert.ok(grew <= 50, `RSS peaked ${grew.toFixed(1)} MB above where it started`);
  });

  it("refuses a Chat over Chat's own bound (still under Batch's) with RESOURCE_EXHAUSTED naming it", async () => {
    await assert.rejects(
      chat.chat({ message: "m".repeat(200_000) }, soon()),
      expectStatus(
        status.RESOURCE_EXHAUSTED,
        /^request is 200\d{3} bytes; chorus\.v1\.ChatService\/Chat accepts at most 49152$/,
      ),
    );
  });

  it("answers a Batch whose messages total more than limits.max_batch_bytes with INVALID_ARGUMENT naming it", async () => {
    const messages = [...Array.from({ length: 32 }, () => "x".repeat(32_768)), "y"];
    await assert.rejects(
      (async () => {
        for await (const _ of chat.batch({ messages }, soon()));
      })(),
      expectStatus(
        status.INVALID_ARGUMENT,
        /^messages: are 1048577 bytes in all; the limit is 1048576 \(limits\.max_batch_bytes\)$/,
      ),
    );
  });

  it("answers 100 KB of metadata with RESOURCE_EXHAUSTED naming limits.max_metadata_bytes", async () => {
    const metadata = new Metadata();
    metadata.set("x-first", "a".repeat(50_000));
    metadata.set("x-second", "b".repeat(50_000));
    const outcome = await unaryRaw(
      mesh.address,
      CHAT,
      toBinary(ChatRequestSchema, create(ChatRequestSchema, { message: "hi" })),
      metadata,
    );
    assert.equal(outcome.code, status.RESOURCE_EXHAUSTED, outcome.details);
    assert.match(
      outcome.details,
      /^request metadata is 100\d{3} bytes; the limit is 16384 \(limits\.max_metadata_bytes\)$/,
    );
  });

  it("answers a single 100 KB header that HTTP/2 itself refuses with an error at once, not silence", async () => {
    const metadata = new Metadata();
    metadata.set("x-big", randomBytes(75_000).toString("base64"));
    const started = performance.now();
    const outcome = await unaryRaw(
      mesh.address,
      CHAT,
      toBinary(ChatRequestSchema, create(ChatRequestSchema, { message: "hi" })),
      metadata,
    );
    assert.notEqual(outcome.code, status.OK);
    assert.notEqual(outcome.code, status.DEADLINE_EXCEEDED, "the call hung until its deadline");
    assert.ok(performance.now() - started < 2000);
  });

  const malformed: [string, () => Promise<{ code: status; details: string }>, RegExp][] = [
    [
      "a truncated Chat",
      () => unaryRaw(mesh.address, CHAT, Buffer.from([0x12, 0x0a, 0x61])),
      /premature EOF/,
    ],
    [
      "a Chat whose message is not UTF-8",
      () => unaryRaw(mesh.address, CHAT, Buffer.from([0x12, 0x02, 0xff, 0xfe])),
      /a string field is not valid UTF-8 \(not a valid chorus\.v1\.ChatRequest\)$/,
    ],
    [
      "a ChatStream whose agent name is not UTF-8",
      () => streamRaw(mesh.address, "/chorus.v1.ChatService/ChatStream", Buffer.from([0x2a, 0x01, 0xc3])),
      /a string field is not valid UTF-8/,
    ],
    [
      "a Batch with an illegal wire type",
      () => streamRaw(mesh.address, "/chorus.v1.ChatService/Batch", Buffer.from([0x0f])),
      /illegal tag/,
    ],
    [
      "a GetConversation whose id is not UTF-8",
      () =>
        unaryRaw(mesh.address, "/chorus.v1.HistoryService/GetConversation", Buffer.from([0x0a, 0x01, 0x80])),
      /a string field is not valid UTF-8 \(not a valid chorus\.v1\.GetConversationRequest\)$/,
    ],
  ];
  for (const [what, call, details] of malformed) {
    it(`answers ${what} with INVALID_ARGUMENT "malformed request"`, async () => {
      const outcome = await call();
      assert.equal(outcome.code, status.INVALID_ARGUMENT, `${status[outcome.code]}: ${outcome.details}`);
      assert.match(outcome.details, /^malformed request: /);
      assert.match(outcome.details, details);
    });
  }

  const longName = "n".repeat(10_000);
  const quotedName = `agents: unknown agent "${"n".repeat(64)}…" (known: creative, analytical, balanced)`;

  it("quotes a 10 KB agent name cut to 64 characters, with INVALID_ARGUMENT", async () => {
    await assert.rejects(chat.chat({ message: "hi", agents: [longName] }, soon()), (err: ServiceError) => {
      assert.equal(err.code, status.INVALID_ARGUMENT, err.details.slice(0, 200));
      assert.ok(err.details.length < 200, `the message is ${err.details.length} characters`);
      assert.equal(err.details, quotedName);
      return true;
    });
  });

  it("gives a C-core client (Python grpcio) INVALID_ARGUMENT for a 10 KB agent name, not RESOURCE_EXHAUSTED", async () => {
    const request = toBinary(
      ChatRequestSchema,
      create(ChatRequestSchema, { message: "hi", agents: [longName] }),
    );
    const [code, details] = await pythonChat(mesh.address, request);
    assert.equal(code, "INVALID_ARGUMENT", details.slice(0, 200));
    assert.ok(details.length < 200, `the message is ${details.length} characters`);
    assert.equal(details, quotedName);
  });

  it("still answers a Chat after all of it", async () => {
    const response = await chat.chat({ message: "still here?" }, soon());
    assert.equal(response.agentAnswers.filter((answer) => answer.ok).length, 3);
    const listed = await history.listConversations({ pageSize: 100 }, soon());
    assert.equal(listed.conversations.length, 6, "only the warm-up turns and this one were stored");
  });
});
