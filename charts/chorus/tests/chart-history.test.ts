import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateConfig } from "@chorus/config";
import { parse } from "yaml";
import { find, type Manifest, podSpecOf, renderChart } from "../scripts/helm.js";

/** The least a render needs: callers must authenticate (here with API keys from a Secret). */
const KEYS = ["--set", "auth.existingSecret=chorus-api-keys"];
const POSTGRES = [
  ...KEYS,
  ...["--set", "config.history.backend=postgres", "--set", "history.replicas=3"],
  ...[
    "--set",
    "history.postgres.existingSecret=chorus-db",
    "--set",
    "history.postgres.existingSecretKey=url",
  ],
];
const sqlite = renderChart(KEYS);
const postgres = renderChart(POSTGRES);

const configOf = (manifests: Manifest[], name: string) =>
  validateConfig(parse(find(manifests, "ConfigMap", name).data["chorus.yaml"]), name);
const named = (manifests: Manifest[], name: string) =>
  manifests.filter((m) => m.metadata?.name === name).map((m) => m.kind);

describe("charts/chorus history backends", () => {
  it("runs history on sqlite by default: one StatefulSet replica with its PVC, dialled through the ClusterIP Service", () => {
    assert.deepEqual(named(sqlite, "chorus-history").sort(), [
      "ConfigMap",
      "NetworkPolicy",
      "Service",
      "StatefulSet",
    ]);
    const statefulSet = find(sqlite, "StatefulSet", "chorus-history");
    assert.equal(statefulSet.spec.replicas, 1);
    assert.equal(statefulSet.spec.volumeClaimTemplates[0].metadata.name, "data");
    assert.deepEqual(named(sqlite, "chorus-history-replicas"), []);
    const history = configOf(sqlite, "chorus-history").history;
    assert.equal(history.backend, "sqlite");
    assert.equal(history.postgres.url_file, "");
    assert.equal(configOf(sqlite, "chorus-orchestrator").history.address, "chorus-history:50052");
  });

  it("runs history.replicas pods of a Deployment on postgres, with no volume claim", () => {
    assert.deepEqual(named(postgres, "chorus-history").sort(), [
      "ConfigMap",
      "Deployment",
      "NetworkPolicy",
      "PodDisruptionBudget",
      "Service",
    ]);
    const deployment = find(postgres, "Deployment", "chorus-history");
    assert.equal(deployment.spec.replicas, 3);
    assert.equal(deployment.spec.volumeClaimTemplates, undefined);
    assert.ok(podSpecOf(deployment).volumes.every((v: Manifest) => v.persistentVolumeClaim === undefined));
    assert.equal(find(postgres, "PodDisruptionBudget", "chorus-history").spec.maxUnavailable, 1);
  });

  it("gives history the database URL only as a file from the Secret, never in a ConfigMap or the environment", () => {
    const pod = podSpecOf(find(postgres, "Deployment", "chorus-history"));
    const volume = pod.volumes.find((v: Manifest) => v.name === "database-url");
    assert.deepEqual(volume.secret.secretName, "chorus-db");
    assert.deepEqual(volume.secret.items, [{ key: "url", path: "url" }]);
    const [container] = pod.containers;
    assert.ok(
      container.volumeMounts.some(
        (m: Manifest) => m.name === "database-url" && m.mountPath === "/etc/chorus-db",
      ),
    );
    assert.equal(
      (container.env ?? []).some((e: Manifest) => /DATABASE_URL/.test(e.name)),
      false,
    );
    const history = configOf(postgres, "chorus-history").history;
    assert.equal(history.backend, "postgres");
    assert.equal(history.postgres.url_file, "/etc/chorus-db/url");
    for (const map of postgres.filter((m) => m.kind === "ConfigMap"))
      assert.doesNotMatch(JSON.stringify(map.data), /postgres(ql)?:\/\//, map.metadata.name);
  });

  it("points the orchestrator at a headless Service that resolves to every history pod", () => {
    const headless = find(postgres, "Service", "chorus-history-replicas");
    assert.equal(headless.spec.clusterIP, "None");
    assert.deepEqual(headless.spec.selector, find(postgres, "Service", "chorus-history").spec.selector);
    assert.deepEqual(headless.spec.ports, [
      { name: "grpc", port: 50052, targetPort: "grpc", appProtocol: "grpc" },
    ]);
    const orchestrator = configOf(postgres, "chorus-orchestrator").history;
    assert.equal(orchestrator.address, "chorus-history-replicas:50052");
    assert.deepEqual(orchestrator.addresses, []);
  });

  it("refuses backend postgres without the URL's Secret, naming the value to set", () => {
    assert.throws(
      () => renderChart([...KEYS, "--set", "config.history.backend=postgres"]),
      /config\.history\.backend=postgres needs history\.postgres\.existingSecret/,
    );
  });

  const refused: Array<[string, RegExp]> = [
    ["config.history.postgres.url=postgres://u:p@db/chorus", /url/],
    ["config.history.postgres.url_file=/etc/other", /url_file/],
    ["config.history.backend=mysql", /backend/],
  ];
  for (const [set, message] of refused) {
    it(`rejects ${set.split("=")[0]} through values.schema.json`, () => {
      assert.throws(() => renderChart([...KEYS, "--set", set]), message);
    });
  }
});
