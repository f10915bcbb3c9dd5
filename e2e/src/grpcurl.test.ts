import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type ChorusUp, startChorusUp } from "@chorus/cli/testing";
import { BUILD_COMMAND, binDir } from "@chorus/testenv";

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** grpcurl from $GRPCURL, else PATH, else the testenv cache that build.sh fills; undefined if none. */
function findGrpcurl(): string | undefined {
  if (process.env.GRPCURL) return process.env.GRPCURL;
  const onPath = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  return [...onPath, binDir()].map((dir) => join(dir, "grpcurl")).find(executable);
}

/** The grpcurl binary; fails the calling test (never skips it) when there is none. */
function requireGrpcurl(): string {
  const bin = findGrpcurl();
  assert.ok(
    bin && executable(bin),
    `grpcurl not found or not executable ($GRPCURL=${process.env.GRPCURL ?? ""}, PATH, ${binDir()}): ` +
      `npm test builds it there with \`${BUILD_COMMAND}\` and puts that dir on PATH`,
  );
  return bin;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs grpcurl with -plaintext against the address (killed after 30 s) and resolves with its output. */
function grpcurl(bin: string, address: string, args: string[], data?: string): Promise<Run> {
  const flags = ["-plaintext", "-connect-timeout", "10", "-max-time", "25"];
  const argv = [...flags, ...(data === undefined ? [] : ["-d", data]), address, ...args];
  return new Promise((resolve) => {
    execFile(bin, argv, { timeout: 30_000, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ code, stdout, stderr: error && code === null ? `${stderr}\n${error.message}` : stderr });
    });
  });
}

/** Splits grpcurl's output of pretty-printed JSON messages (each closed by a `}` line) into objects. */
function messages(stdout: string): Record<string, unknown>[] {
  const objects: Record<string, unknown>[] = [];
  let chunk: string[] = [];
  for (const line of stdout.split("\n")) {
    chunk.push(line);
    if (line === "}") {
      objects.push(JSON.parse(chunk.join("\n")) as Record<string, unknown>);
      chunk = [];
    }
  }
  assert.equal(chunk.join("").trim(), "", `trailing output that is not a message: ${chunk.join("\n")}`);
  return objects;
}

interface AgentAnswer {
  agent: string;
  ok?: boolean;
  text?: string;
}

describe("grpcurl against the orchestrator, by reflection only", { timeout: 180_000 }, () => {
  let chorus: ChorusUp | undefined;
  let address = "";

  before(async () => {
    chorus = await startChorusUp();
    address = chorus.address;
  });

  after(async () => {
    await chorus?.stop();
  });

  /** Runs grpcurl and asserts it exited 0. */
  async function ok(args: string[], data?: string): Promise<string> {
    const result = await grpcurl(requireGrpcurl(), address, args, data);
    assert.equal(result.code, 0, `grpcurl ${args.join(" ")} exited ${result.code}:\n${result.stderr}`);
    return result.stdout;
  }

  it("finds a grpcurl binary (not skipped when missing: install it)", () => {
    requireGrpcurl();
  });

  it("list shows the chat, history and health services", async () => {
    const services = (await ok(["list"])).trim().split("\n");
    for (const name of ["chorus.v1.ChatService", "chorus.v1.HistoryService", "grpc.health.v1.Health"]) {
      assert.ok(services.includes(name), `${name} missing from:\n${services.join("\n")}`);
    }
  });

  it("describe shows ChatService's unary and streaming methods", async () => {
    const text = await ok(["describe", "chorus.v1.ChatService"]);
    assert.match(text, /^chorus\.v1\.ChatService is a service:/);
    assert.ok(
      text.includes("rpc Chat ( .chorus.v1.ChatRequest ) returns ( .chorus.v1.ChatResponse );"),
      text,
    );
    assert.ok(
      text.includes("rpc ChatStream ( .chorus.v1.ChatRequest ) returns ( stream .chorus.v1.ChatEvent );"),
    );
    assert.ok(
      text.includes("rpc Batch ( .chorus.v1.BatchRequest ) returns ( stream .chorus.v1.BatchEvent );"),
    );
  });

  it("Chat returns three successful agent answers and an answer", async () => {
    const [response, ...rest] = messages(
      await ok(["chorus.v1.ChatService/Chat"], '{"message":"What is gRPC server reflection?"}'),
    );
    assert.ok(response);
    assert.equal(rest.length, 0);
    const answers = response.agentAnswers as AgentAnswer[];
    assert.deepEqual(
      answers.map((answer) => answer.agent),
      ["creative", "analytical", "balanced"],
    );
    assert.ok(answers.every((answer) => answer.ok === true && answer.text));
    assert.ok(typeof response.answer === "string" && response.answer.length > 0);
  });

  it("ChatStream streams started, deltas, three agent_done events and the final answer last", async () => {
    const events = messages(await ok(["chorus.v1.ChatService/ChatStream"], '{"message":"Stream it"}'));
    const kinds = events.map((event) => Object.keys(event)[0]);
    assert.equal(kinds[0], "started");
    assert.equal(kinds.at(-1), "final");
    assert.ok(kinds.filter((kind) => kind === "delta").length >= 3, kinds.join(","));
    assert.equal(kinds.filter((kind) => kind === "agentDone").length, 3, kinds.join(","));
  });

  it("Batch streams one item per message on agent i mod 3, then the summary", async () => {
    const events = messages(await ok(["chorus.v1.ChatService/Batch"], '{"count":3}'));
    const items = events.slice(0, -1).map((event) => event.item as { index?: number; agent: string });
    // Proto3 JSON omits zero values, so item 0 has no "index".
    const agents = items.sort((a, b) => (a.index ?? 0) - (b.index ?? 0)).map((item) => item.agent);
    assert.deepEqual(agents, ["creative", "analytical", "balanced"]);
    const summary = events.at(-1)?.summary as { total?: number; successful?: number; failed?: number };
    assert.equal(summary.total, 3);
    assert.equal(summary.successful, 3);
    assert.equal(summary.failed, undefined, "proto3 JSON omits failed: 0");
  });

  it("GetStatus reports an initialized workflow with three pools", async () => {
    const [status] = messages(await ok(["chorus.v1.ChatService/GetStatus"]));
    assert.ok(status);
    assert.equal(status.initialized, true);
    assert.deepEqual(
      (status.pools as { agent: string }[]).map((pool) => pool.agent),
      ["creative", "analytical", "balanced"],
    );
  });

  it("grpc.health.v1.Health/Check answers SERVING", async () => {
    assert.deepEqual(messages(await ok(["grpc.health.v1.Health/Check"])), [{ status: "SERVING" }]);
  });

  it("Chat with an empty message fails with InvalidArgument", async () => {
    const result = await grpcurl(requireGrpcurl(), address, ["chorus.v1.ChatService/Chat"], '{"message":""}');
    assert.equal(result.code, 64 + 3, `exit ${result.code}:\n${result.stderr}`);
    assert.match(result.stderr, /Code: InvalidArgument/);
    assert.match(result.stderr, /Message: message: must not be empty/);
  });
});
