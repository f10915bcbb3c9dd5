import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { K8S_DIR, keyOf, type Manifest, parseManifests, renderChart, runTool } from "./testing/helm.js";

// k8s/ is the plain twin of the chart's default render. It differs on purpose only in what
// kustomization.yaml lists: no Helm labels, no checksum annotations, no test pod, and agent
// Deployments without replicas. Everything else must be equal, object by object.

const HELM_LABELS = ["helm.sh/chart", "app.kubernetes.io/managed-by"];

/** The chart's render with the Helm-only parts taken out, as the twin should read. */
function chartAsTwin(): Map<string, Manifest> {
  const objects = new Map<string, Manifest>();
  for (const manifest of renderChart(["--skip-tests"])) {
    for (const label of HELM_LABELS) delete manifest.metadata.labels?.[label];
    const template = manifest.spec?.template?.metadata;
    if (template?.annotations) {
      delete template.annotations["checksum/config"];
      if (Object.keys(template.annotations).length === 0) delete template.annotations;
    }
    if (
      manifest.kind === "Deployment" &&
      manifest.metadata.labels["app.kubernetes.io/component"] === "agent"
    ) {
      assert.equal(manifest.spec.replicas, 1, `${keyOf(manifest)}: the twin's omitted replicas mean 1`);
      delete manifest.spec.replicas;
    }
    objects.set(keyOf(manifest), manifest);
  }
  return objects;
}

/** `kubectl kustomize k8s/`: the twin as kustomize builds it. */
function kustomized(): Map<string, Manifest> {
  const result = runTool("kubectl", ["kustomize", K8S_DIR]);
  assert.equal(result.code, 0, `kubectl kustomize k8s/ failed:\n${result.stderr}`);
  return new Map(parseManifests(result.stdout).map((m) => [keyOf(m), m]));
}

describe("k8s/ (the kustomize twin of charts/chorus)", () => {
  const chart = chartAsTwin();
  const twin = kustomized();

  it("has the same objects as the chart's default render", () => {
    assert.deepEqual([...twin.keys()].sort(), [...chart.keys()].sort());
  });

  it("agrees with the chart field by field, config files included", () => {
    for (const [key, expected] of chart) {
      assert.deepEqual(twin.get(key), expected, `${key} differs between k8s/ and charts/chorus`);
    }
  });

  it("leaves agent replicas to the orchestrator, so kubectl apply -k never undoes its scaling", () => {
    const agents = [...twin.values()].filter(
      (m) => m.kind === "Deployment" && m.metadata.labels["app.kubernetes.io/component"] === "agent",
    );
    assert.equal(agents.length, 3);
    for (const deployment of agents) assert.equal(deployment.spec.replicas, undefined, keyOf(deployment));
  });

  it("keeps one component per file and lists every file in kustomization.yaml", () => {
    const files = readdirSync(K8S_DIR)
      .filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
      .sort();
    const kustomization = parse(readFileSync(join(K8S_DIR, "kustomization.yaml"), "utf8"));
    assert.deepEqual([...kustomization.resources].sort(), files);
    for (const file of files) {
      const stem = file.replace(/\.yaml$/, "");
      const [component, pool] = stem.startsWith("agent-") ? ["agent", stem.slice(6)] : [stem, undefined];
      for (const manifest of parseManifests(readFileSync(join(K8S_DIR, file), "utf8"))) {
        const labels = manifest.metadata.labels;
        assert.equal(labels["app.kubernetes.io/component"], component, `${file}: ${keyOf(manifest)}`);
        assert.equal(labels["chorus.dev/pool"], pool, `${file}: ${keyOf(manifest)}`);
      }
    }
  });
});
