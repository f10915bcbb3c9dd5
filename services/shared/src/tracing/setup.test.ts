import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { context, propagation, trace } from "@opentelemetry/api";
import { pino } from "pino";
import { type BridgeRig, startBridgeRig, within } from "../bridge-test-rig.js";
import { TRACE_ID_KEY, traceHeaders } from "./propagation.js";
import { startTracing, tracingProtocol } from "./setup.js";
import { SemconvAttr, tracer } from "./spans.js";

const quiet = pino({ level: "silent" });

describe("tracing is off unless the OTEL_* environment asks for an exporter", () => {
  const table: [string, Record<string, string>, ReturnType<typeof tracingProtocol>][] = [
    ["nothing set", {}, undefined],
    ["only a service name", { OTEL_SERVICE_NAME: "x" }, undefined],
    [
      "an endpoint (the specification's default protocol)",
      { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" },
      "http/protobuf",
    ],
    [
      "a traces endpoint and grpc",
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
      "grpc",
    ],
    [
      "the traces protocol wins",
      {
        OTEL_TRACES_EXPORTER: "otlp",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc",
      },
      "grpc",
    ],
    ["OTEL_TRACES_EXPORTER=otlp alone", { OTEL_TRACES_EXPORTER: "otlp" }, "http/protobuf"],
    [
      "OTEL_TRACES_EXPORTER=none beats an endpoint",
      { OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" },
      undefined,
    ],
    [
      "OTEL_SDK_DISABLED=true beats everything",
      { OTEL_SDK_DISABLED: "true", OTEL_TRACES_EXPORTER: "otlp" },
      undefined,
    ],
  ];
  for (const [name, env, want] of table) {
    it(`${name}: ${want ?? "off"}`, () => assert.equal(tracingProtocol(env), want));
  }
});

describe("with no OTEL_* set, nothing is registered and calls carry no trace", () => {
  let rig: BridgeRig;
  let received: string[] = [];
  before(async () => {
    rig = await startBridgeRig({
      generate: async (_request, ctx) => {
        received = Object.keys(ctx.metadata.getMap());
        return {};
      },
    });
  });
  after(() => rig.close());

  it("startTracing registers no SDK: the API's global tracer makes non-recording spans", async () => {
    const tracing = await startTracing({ service: "test" }, quiet, {});
    assert.equal(tracing.enabled, false);
    const span = tracer().startSpan("probe");
    assert.equal(span.isRecording(), false);
    assert.equal(span.spanContext().traceId, "00000000000000000000000000000000");
    assert.deepEqual(traceHeaders(trace.setSpan(context.active(), span)), {});
    assert.deepEqual(propagation.fields(), [], "no propagator registered");
    await tracing.shutdown();
  });

  it("a call sends no traceparent and gets no x-chorus-trace-id back", async () => {
    const headers: string[] = [];
    const parent = tracer().startSpan("caller");
    await context.with(trace.setSpan(context.active(), parent), () =>
      rig.client.generate(
        {},
        { deadline: within(), onMetadata: (m) => headers.push(...Object.keys(m.getMap())) },
      ),
    );
    assert.ok(!received.includes("traceparent"), `server received ${received}`);
    assert.ok(!headers.includes(TRACE_ID_KEY), `client received ${headers}`);
  });
});

describe("the attribute names spelled out in spans.ts are the semantic conventions' own", () => {
  it("every stable name matches @opentelemetry/semantic-conventions", async () => {
    const semconv = await import("@opentelemetry/semantic-conventions");
    assert.equal(SemconvAttr.rpcSystemName, semconv.ATTR_RPC_SYSTEM_NAME);
    assert.equal(SemconvAttr.rpcMethod, semconv.ATTR_RPC_METHOD);
    assert.equal(SemconvAttr.rpcStatusCode, semconv.ATTR_RPC_STATUS_CODE);
    assert.equal(SemconvAttr.serverAddress, semconv.ATTR_SERVER_ADDRESS);
    assert.equal(SemconvAttr.serverPort, semconv.ATTR_SERVER_PORT);
    assert.equal(SemconvAttr.errorType, semconv.ATTR_ERROR_TYPE);
  });
});
