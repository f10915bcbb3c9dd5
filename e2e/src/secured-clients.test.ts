import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { CLI_BUNDLE } from "@chorus/cli/testing";
import { grpcurl, messages, requireGrpcurl } from "./testing/grpcurl.js";
import { type SecuredMesh, startSecuredMesh } from "./testing/secured-mesh.js";

const PYTHON = "/usr/bin/python3";
const SCRIPT = new URL("../../tools/py-client/reflect_client.py", import.meta.url).pathname;

describe("independent clients over TLS with an API key", { timeout: 240_000 }, () => {
  let mesh: SecuredMesh;

  before(async () => {
    mesh = await startSecuredMesh();
  });
  after(async () => {
    await mesh?.stop();
  });

  const tls = (who: "alice" | "root") => [
    "-cacert",
    mesh.caFile,
    "-H",
    `authorization: Bearer ${mesh.keys[who]}`,
  ];

  it("grpcurl lists the services by reflection and chats with -cacert and -H authorization", async () => {
    const bin = requireGrpcurl();
    const listed = await grpcurl(bin, mesh.chorus.address, ["list"], undefined, tls("alice"));
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(listed.stdout.trim().split("\n").sort(), [
      "chorus.v1.ChatService",
      "chorus.v1.HistoryService",
      "grpc.health.v1.Health",
    ]);
    const chat = await grpcurl(
      bin,
      mesh.chorus.address,
      ["chorus.v1.ChatService/Chat"],
      JSON.stringify({ message: "hello over TLS" }),
      tls("alice"),
    );
    assert.equal(chat.code, 0, chat.stderr);
    const [answer] = messages(chat.stdout);
    assert.equal(typeof answer?.answer, "string");
  });

  it("grpcurl without the key is refused, reflection included, and without the CA cannot connect", async () => {
    const bin = requireGrpcurl();
    const keyless = await grpcurl(bin, mesh.chorus.address, ["list"], undefined, ["-cacert", mesh.caFile]);
    assert.notEqual(keyless.code, 0);
    assert.match(keyless.stderr, /Unauthenticated|missing credentials/);
    const untrusted = await grpcurl(bin, mesh.chorus.address, ["list"], undefined, [
      "-H",
      "authorization: x",
    ]);
    assert.notEqual(untrusted.code, 0);
    assert.match(untrusted.stderr, /certificate|x509|tls/i);
  });

  it("the chorus CLI asks over TLS with $CHORUS_API_KEY and --cacert, and says why it is refused without the key", async () => {
    const cli = (env: NodeJS.ProcessEnv, ...args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [CLI_BUNDLE, ...args, "--address", mesh.chorus.address, "--cacert", mesh.caFile],
          { timeout: 60_000, killSignal: "SIGKILL", env: { ...process.env, ...env } },
          (error, stdout, stderr) =>
            resolve({
              code: error ? (typeof error.code === "number" ? error.code : null) : 0,
              stdout,
              stderr,
            }),
        );
      });
    const asked = await cli({ CHORUS_API_KEY: mesh.keys.alice }, "ask", "hello from the CLI", "--json");
    assert.equal(asked.code, 0, asked.stderr);
    assert.equal(typeof (JSON.parse(asked.stdout) as { answer?: unknown }).answer, "string");
    const refused = await cli({ CHORUS_API_KEY: "" }, "ask", "hello without a key");
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /UNAUTHENTICATED: missing credentials/);
    const status = await cli({ CHORUS_API_KEY: mesh.keys.alice }, "status");
    assert.equal(status.code, 1);
    assert.match(status.stderr, /PERMISSION_DENIED: .*needs the operator role/);
  });

  it("Python grpcio with TLS channel credentials and a bearer token does everything by reflection", async () => {
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        PYTHON,
        [SCRIPT, "--address", mesh.chorus.address, "--timeout", "30", "--cacert", mesh.caFile],
        { timeout: 150_000, killSignal: "SIGKILL", env: { ...process.env, CHORUS_API_KEY: mesh.keys.root } },
        (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr }),
      );
    });
    const where = `exit ${result.code}\n${result.stdout}\n${result.stderr}`;
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      failures: string[];
      chat: { all_ok: boolean };
    };
    assert.deepEqual(report.failures, [], where);
    assert.equal(report.ok, true, where);
    assert.equal(report.chat.all_ok, true, where);
    assert.equal(result.stdout.includes(mesh.keys.root), false, "the key is not echoed");
  });
});
