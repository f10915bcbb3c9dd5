import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import { type ChorusUp, CLI_BUNDLE, startChorusUp } from "@chorus/cli/testing";
import { Aggregation, ChatService } from "@chorus/proto";
import { createClient, TRACE_ID_KEY } from "@chorus/shared";
import { type CollectedSpan, freePort, type OtelCollector, startOtelCollector } from "@chorus/shared/testing";

const AGENTS = ["creative", "analytical", "balanced"];
// A key the test can look for: it must reach the model server, never a span.
const API_KEY = `sk-chorus-trace-test-${randomBytes(8).toString("hex")}`;

const hex = (bytes: number) => randomBytes(bytes).toString("hex");

function one(
  spans: CollectedSpan[],
  predicate: (span: CollectedSpan) => boolean,
  what: string,
): CollectedSpan {
  const found = spans.filter(predicate);
  assert.equal(
    found.length,
    1,
    `${what}: ${found.length} spans in\n${spans.map((s) => `${s.serviceName} ${s.name}`).join("\n")}`,
  );
  return found[0] as CollectedSpan;
}

const childrenOf = (spans: CollectedSpan[], parent: CollectedSpan) =>
  spans.filter((span) => span.parentSpanId === parent.spanId);

/** The spans one whole turn leaves: the turn, a model call per agent, a history call served. */
function turnComplete(spans: CollectedSpan[]): boolean {
  const models = spans.filter((s) => s.name.startsWith("chat "));
  const history = spans.some((s) => s.serviceName === "chorus-history");
  return spans.some((s) => s.name === "chorus.turn") && models.length >= AGENTS.length && history;
}

describe("one turn through chorus up gives one trace, as a real OpenTelemetry Collector received it", {
  timeout: 180_000,
}, () => {
  let collector: OtelCollector;
  let mesh: ChorusUp;
  before(async () => {
    collector = await startOtelCollector();
    mesh = await startChorusUp(
      {},
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.grpcEndpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
        OTEL_BSP_SCHEDULE_DELAY: "200",
        OPENAI_API_KEY: API_KEY,
      },
    );
  });
  after(async () => {
    await mesh?.stop();
    await collector?.stop();
  });

  it("continues the client's traceparent through orchestrator, all three agents, the model calls and history", async () => {
    const traceId = hex(16);
    const turnId = `trace-test-${hex(4)}`;
    const clientSpanId = hex(8);
    const client = createClient(ChatService, mesh.address);
    let returned: string | undefined;
    const response = await client.chat(
      // A turn id makes the turn claim it in history first: a unary history call in every build.
      { message: "What does a trace show?", aggregation: Aggregation.ALL, turnId },
      {
        deadline: new Date(Date.now() + 30_000),
        metadata: { traceparent: `00-${traceId}-${clientSpanId}-01` },
        onMetadata: (metadata) => (returned = metadata.get(TRACE_ID_KEY)[0]?.toString()),
      },
    );
    client.close();
    assert.deepEqual([...response.answeredBy].sort(), [...AGENTS].sort());
    assert.equal(returned, traceId, "x-chorus-trace-id is the trace the client started");

    const all = await collector.waitForSpans(
      (spans) => turnComplete(spans.filter((s) => s.traceId === traceId)),
      30_000,
    );
    const spans = all.filter((span) => span.traceId === traceId);
    const services = new Set(spans.map((span) => span.serviceName));
    for (const service of ["chorus-orchestrator", "chorus-agent", "chorus-history"])
      assert.ok(services.has(service), `${service} in ${[...services]}`);

    // client → orchestrator: the Chat server span is the child of the client's span.
    const chat = one(spans, (s) => s.name === "chorus.v1.ChatService/Chat", "Chat server span");
    assert.equal(chat.kind, "server");
    assert.equal(chat.parentSpanId, clientSpanId);
    assert.equal(chat.attributes["rpc.status_code"], "OK");

    const turn = one(spans, (s) => s.name === "chorus.turn", "turn span");
    assert.equal(turn.parentSpanId, chat.spanId);
    assert.equal(turn.attributes["chorus.turn.id"], turnId);
    assert.equal(response.turnId, turnId);
    assert.equal(turn.attributes["chorus.conversation.id"], response.conversationId);
    assert.deepEqual(turn.attributes["chorus.agents"], AGENTS);
    assert.equal(turn.attributes["chorus.aggregation"], "all");
    assert.equal(turn.attributes["chorus.cached"], false);
    assert.equal(turn.attributes["chorus.replayed"], false);

    // orchestrator → agents: task under the turn, attempt under the task, the replica's span under
    // the attempt (across the task channel), the model call under the replica's span.
    const tasks = childrenOf(spans, turn).filter((s) => s.name === "chorus.task");
    assert.deepEqual(tasks.map((s) => s.attributes["chorus.pool"]).sort(), [...AGENTS].sort());
    const agentsSeen = new Set<unknown>();
    for (const task of tasks) {
      const pool = task.attributes["chorus.pool"];
      assert.equal(task.attributes["chorus.outcome"], "ok");
      assert.equal(task.attributes["chorus.cached"], false);
      const attempt = one(
        childrenOf(spans, task),
        (s) => s.name === "chorus.task.attempt",
        `${pool} attempt`,
      );
      assert.equal(attempt.attributes["chorus.pool"], pool);
      assert.equal(attempt.attributes["chorus.attempt"], 1);
      assert.equal(attempt.attributes["chorus.hedged"], false);
      assert.match(String(attempt.attributes["chorus.replica"]), /^127\.0\.0\.1:\d+$/);
      const replica = one(
        childrenOf(spans, attempt),
        (s) => s.name === "chorus.agent.task",
        `${pool} replica span`,
      );
      assert.equal(replica.serviceName, "chorus-agent");
      assert.equal(replica.resource["chorus.agent"], pool);
      assert.equal(replica.attributes["chorus.turn.id"], response.turnId);
      agentsSeen.add(replica.resource["chorus.agent"]);
      const model = one(childrenOf(spans, replica), (s) => s.name.startsWith("chat "), `${pool} model call`);
      assert.equal(model.kind, "client");
      assert.equal(model.attributes["gen_ai.operation.name"], "chat");
      assert.equal(model.attributes["gen_ai.request.model"], model.name.slice("chat ".length));
      assert.ok(Number(model.attributes["gen_ai.usage.output_tokens"]) > 0, `${pool} output tokens`);
      assert.equal(
        attempt.attributes["chorus.tokens.completion"],
        model.attributes["gen_ai.usage.output_tokens"],
      );
      assert.equal(model.status.code, "unset");
      // agent → model: the simulator continued the traceparent of the HTTP request.
      const served = one(
        childrenOf(spans, model),
        (s) => s.serviceName === "chorus-llm-sim",
        `${pool} model server`,
      );
      assert.equal(served.name, "POST /v1/chat/completions");
      assert.equal(served.attributes["http.response.status_code"], 200);
    }
    assert.equal(agentsSeen.size, AGENTS.length, "spans from all three agents' replicas");

    // orchestrator → history: a client span per call, naming the replica, and history's server span under it.
    const calls = childrenOf(spans, turn).filter(
      (s) => s.kind === "client" && s.name.startsWith("chorus.v1.HistoryService/"),
    );
    assert.ok(
      calls.some((call) => call.name === "chorus.v1.HistoryService/AppendTurns"),
      `the turn's write, an item on the AppendTurns stream, in ${calls.map((c) => c.name)}`,
    );
    for (const call of calls) {
      assert.equal(call.serviceName, "chorus-orchestrator");
      assert.equal(call.attributes["server.address"], "127.0.0.1");
      assert.equal(typeof call.attributes["server.port"], "number");
      const served = one(
        childrenOf(spans, call),
        (s) => s.serviceName === "chorus-history",
        `history's ${call.name}`,
      );
      assert.equal(served.kind, "server");
      assert.equal(served.name, call.name);
    }

    assert.ok(!JSON.stringify(all).includes(API_KEY), "the model API key is in no span");
    assert.ok(
      !JSON.stringify(all).toLowerCase().includes("authorization"),
      "no authorization header is in any span",
    );
  });

  it("a turn_id sent again is replayed from history: its turn span says so and asks no agent", async () => {
    const client = createClient(ChatService, mesh.address);
    const turnId = `replay-test-${hex(4)}`;
    const traceIds: (string | undefined)[] = [];
    try {
      for (let i = 0; i < 2; i += 1) {
        await client.chat(
          { message: "Say it once.", turnId },
          {
            deadline: new Date(Date.now() + 30_000),
            onMetadata: (metadata) => traceIds.push(metadata.get(TRACE_ID_KEY)[0]?.toString()),
          },
        );
      }
    } finally {
      client.close();
    }
    const [first, second] = traceIds;
    assert.ok(first && second && first !== second, `two traces: ${traceIds}`);
    const turnOf = (spans: CollectedSpan[], traceId: string) =>
      spans.find((s) => s.traceId === traceId && s.name === "chorus.turn");
    const spans = await collector.waitForSpans(
      (all) => !!turnOf(all, first) && !!turnOf(all, second),
      30_000,
    );
    assert.equal(turnOf(spans, first)?.attributes["chorus.replayed"], false);
    assert.equal(turnOf(spans, second)?.attributes["chorus.replayed"], true);
    assert.equal(turnOf(spans, second)?.attributes["chorus.turn.id"], turnId);
    assert.equal(spans.filter((s) => s.traceId === second && s.name === "chorus.task").length, 0);
    assert.equal(spans.filter((s) => s.traceId === first && s.name === "chorus.task").length, AGENTS.length);
  });

  it("a client that sends no traceparent gets a new trace, and chorus ask --json prints its id", async () => {
    const run = promisify(execFile);
    const { stdout } = await run(
      process.execPath,
      [CLI_BUNDLE, "ask", "--json", "Which trace is this?", "--address", mesh.address],
      {
        timeout: 60_000,
      },
    );
    const printed = JSON.parse(stdout) as { traceId?: string; turnId: string };
    assert.match(printed.traceId ?? "", /^[0-9a-f]{32}$/);
    const spans = await collector.waitForSpans(
      (all) => all.some((s) => s.traceId === printed.traceId && s.name === "chorus.turn"),
      30_000,
    );
    const chat = one(
      spans,
      (s) => s.traceId === printed.traceId && s.name === "chorus.v1.ChatService/Chat",
      "Chat span",
    );
    assert.equal(chat.parentSpanId, "", "the orchestrator started the trace");
    const turn = one(spans, (s) => s.traceId === printed.traceId && s.name === "chorus.turn", "turn span");
    assert.equal(turn.attributes["chorus.turn.id"], printed.turnId);
  });
});

describe("an unreachable collector costs warnings, never a turn", { timeout: 120_000 }, () => {
  let mesh: ChorusUp;
  before(async () => {
    const closed = await freePort();
    mesh = await startChorusUp(
      {},
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closed}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
        OTEL_BSP_SCHEDULE_DELAY: "100",
        OTEL_EXPORTER_OTLP_TIMEOUT: "500",
      },
    );
  });
  after(() => mesh?.stop());

  it("turns are answered, with their trace id, while every export fails", async () => {
    const client = createClient(ChatService, mesh.address);
    try {
      for (let i = 0; i < 5; i += 1) {
        let returned: string | undefined;
        const response = await client.chat(
          { message: `unexported ${i}` },
          {
            deadline: new Date(Date.now() + 30_000),
            onMetadata: (metadata) => (returned = metadata.get(TRACE_ID_KEY)[0]?.toString()),
          },
        );
        assert.deepEqual(
          response.agentAnswers.map((a) => a.ok),
          AGENTS.map(() => true),
        );
        assert.match(returned ?? "", /^[0-9a-f]{32}$/);
      }
    } finally {
      client.close();
    }
    assert.equal(mesh.process.exitCode, null, "chorus up still runs");
    // Each process says so in one line, not once per failed export (100 ms apart here).
    const warnings = () =>
      mesh
        .output()
        .split("\n")
        .filter((line) => line.includes('"msg":"tracing: '));
    for (let i = 0; i < 100 && !warnings().some((l) => l.includes('"service":"orchestrator"')); i += 1)
      await delay(100);
    const orchestrator = warnings().filter((line) => line.includes('"service":"orchestrator"'));
    assert.equal(orchestrator.length, 1, mesh.output());
    assert.match(orchestrator[0] ?? "", /UNAVAILABLE/);
  });
});
