import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Manifest, podSpecOf, renderChart } from "../scripts/helm.js";

/** The least a render needs: callers must authenticate (here with API keys from a Secret). */
const KEYS = ["--set", "auth.existingSecret=chorus-api-keys"];
const TRACED = [
  "chorus-orchestrator",
  "chorus-agent-creative",
  "chorus-agent-analytical",
  "chorus-agent-balanced",
  "chorus-history",
  "chorus-llm-sim",
];

const workloads = (manifests: Manifest[]) =>
  manifests.filter((m) => ["Deployment", "StatefulSet"].includes(m.kind));
/** The env entries of a workload's chorus container, by name. */
function envOf(manifest: Manifest): Map<string, Manifest> {
  const [container] = podSpecOf(manifest).containers;
  return new Map((container.env ?? []).map((entry: Manifest) => [entry.name, entry]));
}

describe("charts/chorus tracing values", () => {
  it("renders no OTEL_* variable by default: tracing is off", () => {
    for (const manifest of workloads(renderChart(KEYS))) {
      const names = [...envOf(manifest).keys()].filter((name) => name.startsWith("OTEL_"));
      assert.deepEqual(names, [], manifest.metadata.name);
    }
  });

  it("points the orchestrator, every agent pool and history at the collector, with the sampler and resource attributes", () => {
    const manifests = renderChart([
      ...KEYS,
      ...["--set", "tracing.otlpEndpoint=http://otel-collector.observability:4318"],
      ...["--set", "tracing.protocol=http/protobuf"],
      ...["--set", "tracing.sampler=parentbased_traceidratio", "--set", "tracing.samplerArg=0.25"],
      ...["--set", "tracing.resourceAttributes.deployment\\.environment=staging"],
    ]);
    const traced = workloads(manifests).filter((m) => envOf(m).has("OTEL_EXPORTER_OTLP_ENDPOINT"));
    assert.deepEqual(traced.map((m) => m.metadata.name).sort(), [...TRACED].sort());
    for (const manifest of traced) {
      const env = envOf(manifest);
      const value = (name: string) => env.get(name)?.value;
      assert.equal(value("OTEL_EXPORTER_OTLP_ENDPOINT"), "http://otel-collector.observability:4318");
      assert.equal(value("OTEL_EXPORTER_OTLP_PROTOCOL"), "http/protobuf");
      assert.equal(value("OTEL_TRACES_SAMPLER"), "parentbased_traceidratio");
      assert.equal(value("OTEL_TRACES_SAMPLER_ARG"), "0.25");
      assert.equal(
        value("OTEL_RESOURCE_ATTRIBUTES"),
        "k8s.namespace.name=default,deployment.environment=staging",
      );
      assert.equal(env.has("OTEL_EXPORTER_OTLP_HEADERS"), false, "no headers without headersSecret");
    }
  });

  it("takes the collector's auth headers from a Secret by reference: never a value, never in a ConfigMap", () => {
    const manifests = renderChart([
      ...KEYS,
      ...["--set", "tracing.otlpEndpoint=http://otel-collector:4317"],
      ...["--set", "tracing.headersSecret=otel-auth", "--set", "tracing.headersSecretKey=headers"],
    ]);
    for (const manifest of workloads(manifests).filter((m) => envOf(m).has("OTEL_EXPORTER_OTLP_ENDPOINT"))) {
      const headers = envOf(manifest).get("OTEL_EXPORTER_OTLP_HEADERS");
      assert.equal(headers?.value, undefined, manifest.metadata.name);
      assert.deepEqual(headers?.valueFrom, { secretKeyRef: { name: "otel-auth", key: "headers" } });
    }
    for (const map of manifests.filter((m) => m.kind === "ConfigMap" || m.kind === "Secret")) {
      const text = JSON.stringify(map.data ?? {});
      assert.ok(!/OTEL_EXPORTER_OTLP_HEADERS|otel-auth/.test(text), `${map.kind} ${map.metadata.name}`);
    }
  });

  it("the schema rejects an unknown protocol, a sampler argument outside 0..1 and a typo", () => {
    const base = [...KEYS, "--set", "tracing.otlpEndpoint=http://c:4317"];
    assert.throws(() => renderChart([...base, "--set", "tracing.protocol=http/json"]), /protocol/);
    assert.throws(() => renderChart([...base, "--set", "tracing.samplerArg=2"]), /samplerArg/);
    assert.throws(() => renderChart([...base, "--set", "tracing.endpoint=http://c:4317"]), /endpoint/);
  });
});
