import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { type OtelCollector, startOtelCollector } from "../testing/otel-collector.js";
import { inSpan, tracingActive } from "./index.js";
import { startTracing } from "./setup.js";

const quiet = pino({ level: "silent" });

describe("startTracing exports to a real OpenTelemetry Collector over either protocol", () => {
  let collector: OtelCollector;
  before(async () => {
    collector = await startOtelCollector();
  });
  after(() => collector?.stop());

  for (const protocol of ["grpc", "http/protobuf"] as const) {
    it(`${protocol}: a span reaches the collector with the service's resource, flushed by shutdown`, async () => {
      const endpoint = protocol === "grpc" ? collector.grpcEndpoint : collector.httpEndpoint;
      // As a service gets them; a long batch delay, so only shutdown flushes.
      Object.assign(process.env, {
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_BSP_SCHEDULE_DELAY: "60000",
        OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=test",
      });
      const tracing = await startTracing({ service: "chorus-test", instance: protocol }, quiet);
      assert.equal(tracing.enabled, true);
      assert.equal(tracingActive(), true);
      await inSpan(`probe ${protocol}`, {}, async (span) => span.setAttribute("chorus.probe", protocol));
      await tracing.shutdown();
      assert.equal(tracingActive(), false, "off again after shutdown");
      const spans = await collector.waitForSpans(
        (all) => all.some((s) => s.name === `probe ${protocol}`),
        10_000,
      );
      const span = spans.find((s) => s.name === `probe ${protocol}`);
      assert.equal(span?.serviceName, "chorus-test");
      assert.equal(span?.resource["service.instance.id"], protocol);
      assert.equal(span?.resource["deployment.environment"], "test");
      assert.equal(span?.attributes["chorus.probe"], protocol);
    });
  }
});
