import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ChatService, HistoryService } from "@chorus/proto";
import { createClient, type PromiseClient } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { MODEL_API_KEY, type SecuredMesh, startSecuredMesh } from "./testing/secured-mesh.js";

const NOT_FOUND = (err: { code?: number }) => err.code === status.NOT_FOUND;

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

function auditLines(mesh: SecuredMesh): Record<string, unknown>[] {
  return mesh.chorus
    .output()
    .split("\n")
    .filter((line) => line.includes('"audit":true'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The first audit line matching `match`, waiting up to 5 s for the orchestrator's log to arrive. */
async function auditLine(
  mesh: SecuredMesh,
  match: (line: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown> | undefined> {
  for (let waited = 0; waited < 5000; waited += 100) {
    const found = auditLines(mesh).find(match);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return undefined;
}

describe("a mesh with TLS and API keys on its public port", { timeout: 240_000 }, () => {
  let mesh: SecuredMesh;
  let chat: PromiseClient<typeof ChatService>;
  let history: PromiseClient<typeof HistoryService>;
  let aliceConversation = "";
  let aliceTurn = "";

  before(async () => {
    mesh = await startSecuredMesh();
    chat = mesh.client(ChatService);
    history = mesh.client(HistoryService);
    const answer = await chat.chat(
      { message: "Alice's private plan about parallel processing" },
      mesh.as("alice"),
    );
    aliceConversation = answer.conversationId;
    aliceTurn = answer.turnId;
  });
  after(async () => {
    await mesh?.stop();
  });

  it("refuses a plaintext client on the TLS port, and a caller without a key", async () => {
    const plaintext = createClient(ChatService, mesh.chorus.address);
    try {
      await assert.rejects(plaintext.chat({ message: "hi" }, { deadline: new Date(Date.now() + 5000) }), {
        code: status.UNAVAILABLE,
      });
    } finally {
      plaintext.close();
    }
    await assert.rejects(chat.chat({ message: "hi" }, { deadline: new Date(Date.now() + 5000) }), {
      code: status.UNAUTHENTICATED,
    });
    await assert.rejects(
      chat.chat(
        { message: "hi" },
        { ...mesh.as("alice"), metadata: { authorization: "Bearer chorus_nope_x" } },
      ),
      { code: status.UNAUTHENTICATED },
    );
  });

  it("lets another principal neither read, search, export, delete nor continue the conversation", async () => {
    const bob = mesh.as("bob");
    const id = { conversationId: aliceConversation };
    await assert.rejects(history.getConversation(id, bob), NOT_FOUND);
    await assert.rejects(history.getTurn({ turnId: aliceTurn }, bob), NOT_FOUND);
    await assert.rejects(history.searchTurns({ ...id, query: "plan" }, bob), NOT_FOUND);
    await assert.rejects(collect(history.exportConversation(id, bob)), NOT_FOUND);
    await assert.rejects(history.deleteConversation(id, bob), NOT_FOUND);
    await assert.rejects(chat.chat({ ...id, message: "and then?" }, bob), NOT_FOUND);
    await assert.rejects(collect(chat.chatStream({ ...id, message: "and then?" }, bob)), NOT_FOUND);
    const listed = await history.listConversations({}, bob);
    assert.equal(listed.conversations.length, 0, "bob lists none of alice's conversations");
    const found = await history.searchTurns({ query: "private plan" }, bob);
    assert.equal(found.turns.length, 0, "bob's search finds nothing of alice's");
    const mine = await history.getConversation(id, mesh.as("alice"));
    assert.equal(mine.turns.length, 1, "alice's conversation is untouched");
  });

  it("gives a principal the message of a missing id for another's, so existence does not leak", async () => {
    const errorOf = (conversationId: string) =>
      history.getConversation({ conversationId }, mesh.as("bob")).then(
        () => assert.fail("expected NOT_FOUND"),
        (err: { details: string }) => err.details.replace(conversationId, "<id>"),
      );
    assert.equal(await errorOf(aliceConversation), await errorOf("00000000-0000-4000-8000-000000000000"));
  });

  it("never serves one principal's cached answer to another", async () => {
    const question = { message: "What did Alice decide about the cache?" };
    const first = await chat.chat(question, mesh.as("alice"));
    assert.ok(first.agentAnswers.every((a) => !a.cached));
    const bobs = await chat.chat(question, mesh.as("bob"));
    assert.ok(
      bobs.agentAnswers.every((a) => !a.cached),
      "bob's answer is generated, not alice's from cache",
    );
    const again = await chat.chat(question, mesh.as("alice"));
    assert.ok(
      again.agentAnswers.every((a) => a.cached),
      "alice's own repeat is served from her cache",
    );
  });

  it("checks roles: users chat, operators read stats and scale, and ScalePool is audited", async () => {
    await assert.rejects(chat.getStats({}, mesh.as("alice")), (err: { code: number; details: string }) => {
      assert.equal(err.code, status.PERMISSION_DENIED);
      assert.match(err.details, /needs the operator role/);
      return true;
    });
    const stats = await chat.getStats({}, mesh.as("ops"));
    assert.ok(stats.totalRequests >= 1n);
    await chat.scalePool({ pool: "creative", blocks: 1 }, mesh.as("ops"));
    const scaled = await auditLine(mesh, (line) => line.method === "ScalePool");
    assert.equal(scaled?.principal, "ops");
    assert.equal(scaled?.result, "ok");
  });

  it("refuses a key over its requests_per_minute with RESOURCE_EXHAUSTED, a retry hint and a trailer", async () => {
    await chat.chat({ message: "one" }, mesh.as("capped"));
    await chat.chat({ message: "two" }, mesh.as("capped"));
    await assert.rejects(
      chat.chat({ message: "three" }, mesh.as("capped")),
      (err: { code: number; details: string; metadata: { get(key: string): unknown[] } }) => {
        assert.equal(err.code, status.RESOURCE_EXHAUSTED);
        assert.match(err.details, /requests_per_minute 2 reached for capped .*retry after \d+ s/);
        const retryAfter = Number(err.metadata.get("retry-after-ms")[0]);
        assert.ok(retryAfter > 0 && retryAfter <= 60_000, `retry-after-ms ${retryAfter}`);
        return true;
      },
    );
    await chat.chat({ message: "others are not limited by it" }, mesh.as("alice"));
  });

  it("never shows the model's API key in GetStatus, GetStats, /metrics or any log line", async () => {
    const status = JSON.stringify(await chat.getStatus({}, mesh.as("ops")), (_k, v) =>
      typeof v === "bigint" ? String(v) : v,
    );
    const stats = JSON.stringify(await chat.getStats({}, mesh.as("ops")), (_k, v) =>
      typeof v === "bigint" ? String(v) : v,
    );
    assert.match(status, /"llm"/, "GetStatus reports the model");
    const serving = mesh.chorus
      .output()
      .split("\n")
      .find((line) => line.includes('"orchestrator serving"'));
    const metricsPort = (JSON.parse(serving ?? "{}") as { metricsPort?: number }).metricsPort;
    assert.ok(metricsPort, "the orchestrator logged its metrics port");
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /chorus_turns_total/);
    for (const [where, text] of Object.entries({ status, stats, metrics, logs: mesh.chorus.output() }))
      assert.equal(text.includes(MODEL_API_KEY), false, `the model API key appears in ${where}`);
  });

  it("lets an admin read another's conversation, and audits it without any secret", async () => {
    const read = await history.getConversation({ conversationId: aliceConversation }, mesh.as("root"));
    assert.equal(read.turns.length, 1);
    const adminRead = await auditLine(
      mesh,
      (line) => line.principal === "root" && line.method === "GetConversation",
    );
    assert.equal(adminRead?.target, `conversation/${aliceConversation}`);
    const output = mesh.chorus.output();
    for (const key of Object.values(mesh.keys)) {
      const secret = key.split("_").slice(2).join("_");
      assert.equal(output.includes(secret), false, "no API key secret in any log line");
    }
  });
});
