import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { type ChorusUp, startChorusUp } from "@chorus/cli/testing";

const PYTHON = "/usr/bin/python3";
const SCRIPT = new URL("../../tools/py-client/reflect_client.py", import.meta.url).pathname;
const INSTALL = "apt-get install python3-grpcio python3-grpc-tools grpc-proto";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion (killed after timeoutMs) and resolves with its exit code and output. */
function run(file: string, args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ code, stdout, stderr: error && code === null ? `${stderr}\n${error.message}` : stderr });
    });
  });
}

/** The part of the client's JSON report the assertions read. */
interface Report {
  ok: boolean;
  failures: string[];
  reflection_v1: { services: string[] };
  reflection_v1alpha: { services: string[] };
  files: string[];
  chat: { agents: string[]; all_ok: boolean; answer_chars: number };
  chat_stream: { agent_done: number; deltas: number; first: string; last: string };
  batch: { agents: string[]; summary: { total: number; successful: number; failed: number } };
  stats: { total_requests: number; agents: string[] };
  status: { initialized: boolean; pools: string[] };
  history: { turns: number };
  health: { status: string };
  invalid_argument: { code: string };
}

const AGENTS = ["creative", "analytical", "balanced"];

describe("a Python grpcio client that learns the API only by reflection", { timeout: 180_000 }, () => {
  let chorus: ChorusUp | undefined;

  before(async () => {
    chorus = await startChorusUp();
  });

  after(async () => {
    await chorus?.stop();
  });

  it("finds Debian's Python gRPC packages (not skipped when missing: install them)", async () => {
    const probe = await run(PYTHON, ["-c", "import grpc, grpc_tools.protoc"], 30_000);
    assert.equal(
      probe.code,
      0,
      `${PYTHON} with grpcio and grpc_tools is required: ${INSTALL}\n${probe.stderr}`,
    );
  });

  it("chats, streams, batches, reads stats, status, history and health, and gets INVALID_ARGUMENT", async () => {
    assert.ok(chorus);
    const result = await run(PYTHON, [SCRIPT, "--address", chorus.address, "--timeout", "30"], 120_000);
    const where = `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}\nchorus:\n${chorus.output()}`;
    assert.notEqual(result.code, 2, `Python gRPC packages missing: ${INSTALL}\n${where}`);
    let report: Report;
    try {
      report = JSON.parse(result.stdout) as Report;
    } catch {
      assert.fail(`the client printed no JSON (is ${PYTHON} with grpc installed? ${INSTALL})\n${where}`);
    }
    assert.deepEqual(report.failures, [], where);
    assert.equal(report.ok, true, where);
    assert.equal(result.code, 0, where);

    for (const services of [report.reflection_v1.services, report.reflection_v1alpha.services]) {
      for (const name of ["chorus.v1.ChatService", "chorus.v1.HistoryService", "grpc.health.v1.Health"]) {
        assert.ok(services.includes(name), `${name} missing from ${services.join(", ")}`);
      }
    }
    assert.ok(report.files.includes("chorus/v1/chat.proto"));
    assert.deepEqual(report.chat.agents, AGENTS);
    assert.equal(report.chat.all_ok, true);
    assert.ok(report.chat.answer_chars > 0);
    assert.equal(report.chat_stream.first, "started");
    assert.equal(report.chat_stream.last, "final");
    assert.equal(report.chat_stream.agent_done, 3);
    assert.ok(report.chat_stream.deltas >= 3);
    assert.deepEqual(report.batch.agents, [...AGENTS, ...AGENTS]);
    assert.deepEqual(report.batch.summary, { total: 6, successful: 6, failed: 0 });
    assert.ok(report.stats.total_requests >= 2);
    assert.deepEqual(report.stats.agents, AGENTS);
    assert.equal(report.status.initialized, true);
    assert.deepEqual(report.status.pools, AGENTS);
    assert.ok(report.history.turns >= 1);
    assert.equal(report.health.status, "SERVING");
    assert.equal(report.invalid_argument.code, "INVALID_ARGUMENT");
  });
});
