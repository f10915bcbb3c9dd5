import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { context, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { type BridgeRig, startBridgeRig, within } from "../bridge-test-rig.js";
import { RpcError } from "../status.js";
import { TRACE_ID_KEY, traceHeaders } from "./propagation.js";
import { registerTracing } from "./setup.js";
import { tracer } from "./spans.js";

// The SDK as startTracing registers it (W3C propagation, AsyncLocalStorage context), exporting to memory.
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
registerTracing(provider);

/** What the handler saw of the caller's trace: the traceparent it received and its active span's trace. */
let seen: { traceparent: string | undefined; traceId: string | undefined; upstream?: string | undefined };

const spans = () => exporter.getFinishedSpans();
const named = (name: string) => spans().filter((span) => span.name === name);

describe("W3C trace context crosses a real grpc-js call through the bridge", () => {
  let rig: BridgeRig;
  let downstream: BridgeRig;
  before(async () => {
    downstream = await startBridgeRig({
      generate: async (_request, ctx) => {
        seen.upstream = ctx.metadata.get("traceparent")[0]?.toString();
        return { text: "downstream" };
      },
    });
    rig = await startBridgeRig({
      generate: async (request, ctx) => {
        seen = {
          traceparent: ctx.metadata.get("traceparent")[0]?.toString(),
          traceId: trace.getActiveSpan()?.spanContext().traceId,
        };
        if (request.message === "fail") throw new RpcError(status.FAILED_PRECONDITION, "refused on purpose");
        // A call the handler makes joins the trace through the active context alone.
        if (request.message === "hop") await downstream.client.generate({}, { deadline: within() });
        return { text: "ok" };
      },
      async *generateStream() {
        yield { event: { case: "delta", value: "a" } };
      },
    });
  });
  after(async () => {
    await rig.close();
    await downstream.close();
    await provider.shutdown();
  });
  beforeEach(() => exporter.reset());

  it("continues the caller's trace: the server span is the child of the client span, same trace id", async () => {
    const parent = tracer().startSpan("caller");
    let returned: string | undefined;
    await context.with(trace.setSpan(context.active(), parent), () =>
      rig.client.generate(
        { message: "hi" },
        { deadline: within(), onMetadata: (m) => (returned = m.get(TRACE_ID_KEY)[0]?.toString()) },
      ),
    );
    parent.end();
    const traceId = parent.spanContext().traceId;
    const [client] = named("chorus.v1.AgentService/Generate").filter((s) => s.kind === SpanKind.CLIENT);
    const [server] = named("chorus.v1.AgentService/Generate").filter((s) => s.kind === SpanKind.SERVER);
    assert.ok(client && server, `spans: ${spans().map((s) => `${s.name}/${s.kind}`)}`);
    assert.equal(client.spanContext().traceId, traceId);
    assert.equal(client.parentSpanContext?.spanId, parent.spanContext().spanId);
    assert.equal(server.spanContext().traceId, traceId);
    assert.equal(server.parentSpanContext?.spanId, client.spanContext().spanId);
    assert.equal(seen.traceparent, `00-${traceId}-${client.spanContext().spanId}-01`);
    assert.equal(seen.traceId, traceId, "the handler runs with the server span active");
    assert.equal(returned, traceId, "the trace id comes back as x-chorus-trace-id");
    assert.equal(server.attributes["rpc.system.name"], "grpc");
    assert.equal(server.attributes["rpc.method"], "chorus.v1.AgentService/Generate");
    assert.equal(server.attributes["rpc.status_code"], "OK");
    assert.equal(client.attributes["server.address"], "127.0.0.1");
    assert.equal(client.attributes["server.port"], rig.server.port);
  });

  it("a caller that sends no traceparent starts a new trace at the server, and gets its id back", async () => {
    let returned: string | undefined;
    await rig.client.generate(
      { message: "hi" },
      { deadline: within(), onMetadata: (m) => (returned = m.get(TRACE_ID_KEY)[0]?.toString()) },
    );
    assert.equal(seen.traceparent, undefined, "no span was active, so no context was sent");
    const [server] = named("chorus.v1.AgentService/Generate");
    assert.ok(server);
    assert.equal(server.kind, SpanKind.SERVER);
    assert.equal(server.parentSpanContext, undefined);
    assert.equal(returned, server.spanContext().traceId);
  });

  it("a traceparent sent as plain metadata (any gRPC client) is continued", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const metadata = { traceparent: `00-${traceId}-00f067aa0ba902b7-01` };
    await rig.client.generate({ message: "hi" }, { deadline: within(), metadata });
    const [server] = named("chorus.v1.AgentService/Generate");
    assert.equal(server?.spanContext().traceId, traceId);
    assert.equal(server?.parentSpanContext?.spanId, "00f067aa0ba902b7");
  });

  it("a call made inside a handler carries the handler's trace to the next service", async () => {
    await rig.client.generate({ message: "hop" }, { deadline: within() });
    const servers = named("chorus.v1.AgentService/Generate").filter((s) => s.kind === SpanKind.SERVER);
    assert.equal(servers.length, 2);
    const traceIds = new Set(servers.map((s) => s.spanContext().traceId));
    assert.equal(traceIds.size, 1, "both servers' spans are in one trace");
    const [hopClient] = named("chorus.v1.AgentService/Generate").filter((s) => s.kind === SpanKind.CLIENT);
    assert.ok(hopClient);
    assert.equal(seen.upstream?.split("-")[2], hopClient.spanContext().spanId);
  });

  it("a failed call ends its server span with status ERROR and the gRPC code", async () => {
    await assert.rejects(rig.client.generate({ message: "fail" }, { deadline: within() }));
    const [server] = named("chorus.v1.AgentService/Generate");
    assert.equal(server?.status.code, SpanStatusCode.ERROR);
    assert.equal(server?.status.message, "refused on purpose");
    assert.equal(server?.attributes["rpc.status_code"], "FAILED_PRECONDITION");
  });

  it("server-streaming calls get a server span too; task channels and health checks do not", async () => {
    for await (const _ of rig.client.generateStream({}, { deadline: within() })) {
    }
    assert.equal(named("chorus.v1.AgentService/GenerateStream").length, 1);
    assert.equal(
      spans().filter((s) => s.name.includes("TaskChannel") || s.name.includes("Health")).length,
      0,
    );
  });

  it("plain headers (the task channel's map, an HTTP request) carry the same context", () => {
    const span = tracer().startSpan("task");
    const headers = traceHeaders(trace.setSpan(context.active(), span));
    span.end();
    assert.equal(headers.traceparent, `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    const back = trace.getSpanContext(propagation.extract(context.active(), headers));
    assert.equal(back?.traceId, span.spanContext().traceId);
  });
});
