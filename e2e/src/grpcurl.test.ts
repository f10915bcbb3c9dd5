import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ChorusUp, startChorusUp } from "@chorus/cli/testing";
import { grpcurl, messages, requireGrpcurl } from "./testing/grpcurl.js";

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
