import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { OTLPTraceExporter as GrpcTraceExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as ProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import {
  type CollectedSpan,
  OTELCOL_BUILD_COMMAND,
  type OtelCollector,
  requireOtelcol,
  startOtelCollector,
} from "./otel-collector.js";

/** A tracer provider of the real SDK that exports each span as it ends through `exporter`. */
function providerFor(serviceName: string, exporter: SpanExporter): BasicTracerProvider {
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName, "deployment.environment": "test" }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
}

const byName = (spans: CollectedSpan[], name: string) => spans.find((span) => span.name === name);

describe("OpenTelemetry Collector for tests", () => {
  let collector: OtelCollector;
  before(async () => {
    collector = await startOtelCollector();
  });
  after(async () => {
    await collector?.stop();
  });

  it("listens on two loopback endpoints and starts with no spans", async () => {
    assert.match(collector.grpcEndpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(collector.httpEndpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(collector.grpcEndpoint, collector.httpEndpoint);
    assert.deepEqual(await collector.spans(), []);
  });

  it("receives a parent and child span over OTLP/gRPC from the SDK's exporter, attributes and all", async () => {
    const provider = providerFor("grpc-sender", new GrpcTraceExporter({ url: collector.grpcEndpoint }));
    const tracer = provider.getTracer("otel-collector-test", "1.0.0");
    const parent = tracer.startSpan("parent-op", {
      kind: SpanKind.SERVER,
      attributes: { "rpc.method": "Chat", "chorus.turn": 7, "chorus.cached": true, tags: ["a", "b"] },
    });
    const child = tracer.startSpan(
      "child-op",
      { kind: SpanKind.CLIENT },
      trace.setSpan(context.active(), parent),
    );
    child.addEvent("retry", { attempt: 2 });
    child.setStatus({ code: SpanStatusCode.ERROR, message: "replica lost" });
    child.end();
    parent.setStatus({ code: SpanStatusCode.OK });
    parent.end();
    await provider.forceFlush();
    await provider.shutdown();

    const spans = await collector.waitForSpans(
      (seen) => byName(seen, "parent-op") !== undefined && byName(seen, "child-op") !== undefined,
      20_000,
    );
    const got = byName(spans, "parent-op");
    const kid = byName(spans, "child-op");
    assert.ok(got && kid);
    assert.equal(got.serviceName, "grpc-sender");
    assert.equal(got.resource["deployment.environment"], "test");
    assert.equal(got.scope, "otel-collector-test");
    assert.equal(got.kind, "server");
    assert.deepEqual(got.attributes, {
      "rpc.method": "Chat",
      "chorus.turn": 7,
      "chorus.cached": true,
      tags: ["a", "b"],
    });
    assert.deepEqual(got.status, { code: "ok", message: "" });
    assert.equal(got.parentSpanId, "");
    assert.equal(got.traceId, parent.spanContext().traceId);
    assert.equal(got.spanId, parent.spanContext().spanId);
    assert.match(got.traceId, /^[0-9a-f]{32}$/);
    assert.match(got.spanId, /^[0-9a-f]{16}$/);
    assert.ok(BigInt(got.endTimeUnixNano) >= BigInt(got.startTimeUnixNano));
    assert.ok(got.durationNs >= 0);

    assert.equal(kid.kind, "client");
    assert.equal(kid.traceId, got.traceId);
    assert.equal(kid.parentSpanId, got.spanId);
    assert.deepEqual(kid.status, { code: "error", message: "replica lost" });
    assert.deepEqual(kid.events, [{ name: "retry", attributes: { attempt: 2 } }]);
  });

  it("receives a span over OTLP/HTTP protobuf from the SDK's exporter", async () => {
    const url = `${collector.httpEndpoint}/v1/traces`;
    const provider = providerFor("proto-sender", new ProtoTraceExporter({ url }));
    const span = provider.getTracer("otel-collector-test").startSpan("proto-op", { attributes: { n: 1.5 } });
    span.end();
    await provider.forceFlush();
    await provider.shutdown();

    const spans = await collector.waitForSpans((seen) => byName(seen, "proto-op") !== undefined, 20_000);
    const got = byName(spans, "proto-op");
    assert.equal(got?.serviceName, "proto-sender");
    assert.equal(got?.kind, "internal");
    assert.deepEqual(got?.attributes, { n: 1.5 });
    // The gRPC test's spans are still there: spans() is everything received so far.
    assert.ok(byName(spans, "parent-op"));
  });

  it("receives OTLP/HTTP JSON and keeps int64 beyond 2^53 exact and nested values plain", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "json-sender" } }] },
          scopeSpans: [
            {
              scope: { name: "raw" },
              spans: [
                {
                  traceId,
                  spanId: "b7ad6b7169203331",
                  parentSpanId: "00f067aa0ba902b7",
                  name: "json-op",
                  kind: 5,
                  startTimeUnixNano: "1700000000000000000",
                  endTimeUnixNano: "1700000000250000000",
                  attributes: [
                    { key: "big", value: { intValue: "9007199254740993" } },
                    { key: "small", value: { intValue: "42" } },
                    {
                      key: "map",
                      value: { kvlistValue: { values: [{ key: "k", value: { boolValue: false } }] } },
                    },
                  ],
                  status: { code: 2, message: "boom" },
                },
              ],
            },
          ],
        },
      ],
    };
    const response = await fetch(`${collector.httpEndpoint}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    await response.arrayBuffer();
    assert.equal(response.status, 200);

    const spans = await collector.waitForSpans((seen) => byName(seen, "json-op") !== undefined, 20_000);
    assert.deepEqual(byName(spans, "json-op"), {
      serviceName: "json-sender",
      resource: { "service.name": "json-sender" },
      scope: "raw",
      traceId,
      spanId: "b7ad6b7169203331",
      parentSpanId: "00f067aa0ba902b7",
      name: "json-op",
      kind: "consumer",
      attributes: { big: "9007199254740993", small: 42, map: { k: false } },
      status: { code: "error", message: "boom" },
      events: [],
      startTimeUnixNano: "1700000000000000000",
      endTimeUnixNano: "1700000000250000000",
      durationNs: 250_000_000,
    });
  });

  it("waitForSpans throws with what it saw when the predicate never holds", async () => {
    await assert.rejects(
      collector.waitForSpans((seen) => byName(seen, "never-sent") !== undefined, 300),
      (err: Error) => /did not match within 300 ms/.test(err.message) && err.message.includes('"json-op"'),
    );
  });
});

describe("OpenTelemetry Collector lifecycle", () => {
  it("stops its process by PID and removes its temp dir", async () => {
    const collector = await startOtelCollector();
    assert.ok(existsSync(collector.dir));
    const health = await fetch(`${collector.httpEndpoint}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    await health.arrayBuffer();
    assert.equal(health.status, 200);
    await collector.stop();
    assert.ok(!existsSync(collector.dir));
    await assert.rejects(fetch(`${collector.httpEndpoint}/v1/traces`, { method: "POST", body: "{}" }));
    await collector.stop();
  });

  it("kills a collector nobody stopped when its test process exits", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chorus-otelcol-exit-"));
    try {
      const script = join(dir, "leave-running.mts");
      const module = fileURLToPath(new URL("./otel-collector.ts", import.meta.url));
      writeFileSync(
        script,
        `import { startOtelCollector } from ${JSON.stringify(module)};\n` +
          `const collector = await startOtelCollector({ dir: ${JSON.stringify(join(dir, "collector"))} });\n` +
          "console.log(collector.pid);\nprocess.exit(0);\n",
      );
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          ["--import", "tsx", script],
          { cwd: fileURLToPath(new URL("../../../..", import.meta.url)), timeout: 60_000 },
          (err, out) => (err ? reject(err) : resolve(out)),
        ),
      );
      const pid = Number(stdout.trim());
      assert.ok(pid > 0, stdout);
      const alive = () => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 100 && alive(); i += 1) await delay(100);
      assert.ok(!alive(), `collector ${pid} outlived its test process`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names the build command when the binary is missing", () => {
    assert.throws(
      () => requireOtelcol({ PATH: "", CHORUS_CACHE: "/nonexistent/chorus-cache" }),
      (err: Error) =>
        err.message.includes(OTELCOL_BUILD_COMMAND) &&
        err.message.includes("/nonexistent/chorus-cache/otelcol-"),
    );
    assert.throws(() => requireOtelcol({ CHORUS_OTELCOL: "/nonexistent/otelcol" }), /not an executable file/);
  });
});
