import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import { containerArgv } from "./container-run.js";
import { expand, fieldValue, type PodSources, rewritePaths, writeVolume } from "./pod-spec.js";

const pod: V1Pod = {
  metadata: { name: "agent-0", namespace: "chorus", uid: "u-1", labels: { "chorus.dev/pool": "creative" } },
  spec: { nodeName: "testenv-node", serviceAccountName: "agents", containers: [] },
};

describe("pod spec resolution", () => {
  it("expands $(VAR) from the container env, keeps unknown references and honours $$", () => {
    const env = { POD_NAME: "agent-0", PORT: "8000" };
    const cases: [string, string][] = [
      ["--replica-id=$(POD_NAME)", "--replica-id=agent-0"],
      ["$(POD_NAME):$(PORT)", "agent-0:8000"],
      ["$(MISSING)", "$(MISSING)"],
      ["$$(POD_NAME)", "$(POD_NAME)"],
    ];
    for (const [input, want] of cases) assert.equal(expand(input, env), want, input);
  });

  it("reads fieldRefs the downward API supports", () => {
    const cases: [string, string][] = [
      ["metadata.name", "agent-0"],
      ["metadata.namespace", "chorus"],
      ["status.podIP", "10.231.0.7"],
      ["status.hostIP", "10.231.0.1"],
      ["spec.serviceAccountName", "agents"],
      ["metadata.labels['chorus.dev/pool']", "creative"],
    ];
    for (const [fieldPath, want] of cases) {
      assert.equal(fieldValue(pod, "10.231.0.7", "10.231.0.1", { fieldPath }), want, fieldPath);
    }
  });

  it("rewrites mount paths only where they start a path, longest mount first", () => {
    const mounts = new Map([
      ["/etc/chorus", "/tmp/p/volumes/config"],
      ["/etc/chorus/secrets", "/tmp/p/volumes/secret"],
    ]);
    const cases: [string, string][] = [
      ["/etc/chorus/chorus.yaml", "/tmp/p/volumes/config/chorus.yaml"],
      ["--config=/etc/chorus/chorus.yaml", "--config=/tmp/p/volumes/config/chorus.yaml"],
      ["/etc/chorus/secrets/key", "/tmp/p/volumes/secret/key"],
      ["cat /etc/chorus", "cat /tmp/p/volumes/config"],
      ["/etc/chorusx/file", "/etc/chorusx/file"],
      ["/opt/etc/chorus/file", "/opt/etc/chorus/file"],
    ];
    for (const [input, want] of cases) assert.equal(rewritePaths(input, mounts), want, input);
  });

  it("maps the image entrypoint and a `chorus` command to the local bundle", () => {
    const commands = { chorus: ["node", "/repo/tools/cli/dist/chorus.mjs"] };
    const mounts = new Map([["/etc/chorus", "/tmp/v"]]);
    const env = { POD_NAME: "agent-0" };
    const noCommand = containerArgv(
      { name: "a", args: ["agent", "--config", "/etc/chorus/c.yaml", "--replica-id", "$(POD_NAME)"] },
      env,
      mounts,
      commands,
      ["chorus"],
    );
    assert.deepEqual(noCommand, [
      "node",
      "/repo/tools/cli/dist/chorus.mjs",
      "agent",
      "--config",
      "/tmp/v/c.yaml",
      "--replica-id",
      "agent-0",
    ]);
    const other = containerArgv({ name: "b", command: ["sh", "-c", "true"] }, env, mounts, commands, [
      "chorus",
    ]);
    assert.deepEqual(other, ["sh", "-c", "true"]);
  });

  it("rewrites mount paths in ConfigMap files (config naming a Secret's files), never in Secret files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pod-spec-"));
    const text = "cert_file: /etc/chorus-tls/tls.crt\nkey_file: /etc/chorus-tls/tls.key\n";
    const sources: PodSources = {
      configMap: async () => ({ "chorus.yaml": text }),
      secret: async () => ({ "tls.crt": text }),
      serviceAccountToken: async () => "",
      caCert: "",
    };
    const mounts = new Map([["/etc/chorus-tls", "/host/tls"]]);
    const write = (volume: Parameters<typeof writeVolume>[1]) =>
      writeVolume(
        pod,
        volume,
        join(dir, volume.name),
        "",
        "",
        sources,
        () => "",
        (t) => rewritePaths(t, mounts),
      );
    try {
      await write({ name: "config", configMap: { name: "c" } });
      await write({ name: "projected", projected: { sources: [{ configMap: { name: "c" } }] } });
      await write({ name: "tls", secret: { secretName: "s" } });
      const rewritten = "cert_file: /host/tls/tls.crt\nkey_file: /host/tls/tls.key\n";
      assert.equal(readFileSync(join(dir, "config/chorus.yaml"), "utf8"), rewritten);
      assert.equal(readFileSync(join(dir, "projected/chorus.yaml"), "utf8"), rewritten);
      assert.equal(readFileSync(join(dir, "tls/tls.crt"), "utf8"), text);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
