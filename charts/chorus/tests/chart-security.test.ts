import assert from "node:assert/strict";
import { createPublicKey, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { AgentService, Health, HealthCheckResponse_ServingStatus as Serving } from "@chorus/proto";
import {
  bind,
  createClient,
  createLogger,
  orchestratorOnly,
  type RunningServer,
  serve,
  watchedChannelCredentials,
  watchedServerCredentials,
} from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { parse } from "yaml";
import { find, type Manifest, podSpecOf, renderChart } from "../scripts/helm.js";

/** The least a render needs: callers must authenticate (here with API keys from a Secret). */
const KEYS = ["--set", "auth.existingSecret=chorus-api-keys"];
const IDENTITIES = ["orchestrator", "agent", "history"] as const;
const POOLS = ["creative", "analytical", "balanced"];
const dir = mkdtempSync(join(tmpdir(), "chorus-chart-tls-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const configOf = (manifests: Manifest[], name: string) =>
  parse(find(manifests, "ConfigMap", name).data["chorus.yaml"]);
const decoded = (secret: Manifest, key: string) => Buffer.from(secret.data[key], "base64").toString("utf8");
const workloads = (manifests: Manifest[]) =>
  manifests.filter((m) => ["Deployment", "StatefulSet", "Pod"].includes(m.kind));
/** The Secret behind a pod's volume mounted at `path`, or undefined. */
function secretMountedAt(manifest: Manifest, path: string): string | undefined {
  const spec = podSpecOf(manifest);
  const mounts = spec.containers.flatMap((c: Manifest) => c.volumeMounts ?? []);
  const mount = mounts.find((m: Manifest) => m.mountPath === path);
  return spec.volumes.find((v: Manifest) => v.name === mount?.name)?.secret?.secretName;
}
/** Names a certificate answers to: its DNS subject alternative names. */
const dnsNames = (cert: X509Certificate) =>
  (cert.subjectAltName ?? "")
    .split(", ")
    .filter((n) => n.startsWith("DNS:"))
    .map((n) => n.slice(4));

const ORCHESTRATOR_NAMES = [
  "chorus-orchestrator",
  "chorus-orchestrator.default",
  "chorus-orchestrator.default.svc",
  "chorus-orchestrator.default.svc.cluster.local",
];

describe("charts/chorus authentication", () => {
  it("refuses to render without API keys, an OIDC issuer or config.security.insecure, naming each way out", () => {
    assert.throws(
      () => renderChart(),
      /no authentication configured.*auth\.existingSecret.*auth\.keysFile.*config\.security\.auth\.oidc\.issuer.*config\.security\.insecure=true/s,
    );
  });

  const ways: [string, string[], { secret?: string; key?: string; insecure?: boolean; issuer?: string }][] = [
    [
      "an existing Secret's key",
      ["--set", "auth.existingSecret=mine", "--set", "auth.existingSecretKey=api-keys.yaml"],
      { secret: "mine", key: "api-keys.yaml" },
    ],
    [
      "a keys file given as a value",
      ["--set", "auth.keysFile=keys: []"],
      { secret: "chorus-api-keys", key: "keys.yaml" },
    ],
    [
      "OIDC",
      [
        "--set",
        "config.security.auth.oidc.issuer=https://id.example.com",
        "--set",
        "config.security.auth.oidc.audience=chorus",
      ],
      { issuer: "https://id.example.com" },
    ],
    [
      "config.security.insecure, the explicit risk",
      ["--set", "config.security.insecure=true"],
      { insecure: true },
    ],
  ];
  for (const [way, args, expected] of ways) {
    it(`renders with ${way}, pointing the orchestrator's keys_file at the mounted Secret only when there is one`, () => {
      const rendered = renderChart(args);
      const config = configOf(rendered, "chorus-orchestrator");
      const orchestrator = find(rendered, "Deployment", "chorus-orchestrator");
      assert.equal(config.security.insecure, expected.insecure ?? false);
      assert.equal(config.security.auth.oidc.issuer, expected.issuer ?? "");
      assert.equal(secretMountedAt(orchestrator, "/etc/chorus-keys"), expected.secret);
      if (expected.secret) {
        assert.equal(config.security.auth.keys_file, "/etc/chorus-keys/keys.yaml");
        const volume = podSpecOf(orchestrator).volumes.find(
          (v: Manifest) => v.secret?.secretName === expected.secret,
        );
        assert.deepEqual(volume.secret.items, [{ key: expected.key, path: "keys.yaml" }]);
      } else {
        assert.equal(config.security.auth.keys_file, "");
      }
      const made = rendered.filter((m) => m.kind === "Secret" && m.metadata.name === "chorus-api-keys");
      assert.equal(made.length, way.startsWith("a keys file") ? 1 : 0);
      if (made[0]) assert.equal(made[0].stringData["keys.yaml"], "keys: []");
      for (const pod of workloads(rendered).filter((m) => m !== orchestrator))
        assert.equal(
          secretMountedAt(pod, "/etc/chorus-keys"),
          undefined,
          `${pod.metadata.name}: no keys file`,
        );
    });
  }
});

describe("charts/chorus certificates", () => {
  const generated = renderChart([...KEYS, "--set", "tls.extraDnsNames[0]=chorus.example.com"]);
  const ca = new X509Certificate(decoded(find(generated, "Secret", "chorus-ca"), "tls.crt"));

  it("generates a CA and, signed by it, one certificate per identity carrying the names the mesh checks", () => {
    assert.ok(ca.ca, "chorus-ca holds a CA certificate");
    const expected: Record<string, string[]> = {
      orchestrator: [...ORCHESTRATOR_NAMES, "chorus.example.com"],
      agent: ["chorus-agent"],
      history: ["chorus-history"],
    };
    for (const identity of IDENTITIES) {
      const secret = find(generated, "Secret", `chorus-${identity}-tls`);
      assert.equal(secret.type, "kubernetes.io/tls");
      const cert = new X509Certificate(decoded(secret, "tls.crt"));
      assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), `${identity}: signed by chorus-ca`);
      assert.equal(decoded(secret, "ca.crt"), ca.toString(), `${identity}: ca.crt is the CA`);
      assert.match(cert.subject, new RegExp(`CN=${expected[identity]?.[0]}$`, "m"));
      assert.deepEqual(dnsNames(cert).sort(), expected[identity]?.sort());
      const key = createPublicKey(decoded(secret, "tls.key")).export({ type: "spki", format: "der" });
      assert.deepEqual(key, cert.publicKey.export({ type: "spki", format: "der" }), `${identity}: key fits`);
      assert.equal(secret.metadata.annotations["chorus.dev/names"], expected[identity]?.join(","));
    }
  });

  it("mounts in each pod its own identity only, where its config file looks for the certificate", () => {
    const expected: Record<string, string | undefined> = {
      "chorus-orchestrator": "chorus-orchestrator-tls",
      "chorus-history": "chorus-history-tls",
      "chorus-llm-sim": undefined,
      "chorus-test-health": "chorus-orchestrator-tls",
      ...Object.fromEntries(POOLS.map((p) => [`chorus-agent-${p}`, "chorus-agent-tls"])),
    };
    const pods = workloads(generated);
    assert.deepEqual(pods.map((p) => p.metadata.name).sort(), Object.keys(expected).sort());
    for (const pod of pods) {
      const name = pod.metadata.name;
      const secrets = podSpecOf(pod)
        .volumes.filter((v: Manifest) => v.secret)
        .map((v: Manifest) => v.secret.secretName)
        .filter((s: string) => s.endsWith("-tls"));
      assert.deepEqual(secrets, expected[name] ? [expected[name]] : [], name);
      if (pod.kind === "Pod" || !expected[name]) continue;
      const config = configOf(generated, podSpecOf(pod).volumes[0].configMap.name).security;
      assert.equal(secretMountedAt(pod, "/etc/chorus-tls"), expected[name]);
      assert.deepEqual(
        {
          mode: config.mesh.mode,
          ca: config.mesh.ca_file,
          cert: config.mesh.cert_file,
          key: config.mesh.key_file,
        },
        {
          mode: "files",
          ca: "/etc/chorus-tls/ca.crt",
          cert: "/etc/chorus-tls/tls.crt",
          key: "/etc/chorus-tls/tls.key",
        },
        name,
      );
    }
    const tls = configOf(generated, "chorus-orchestrator").security.tls;
    assert.deepEqual(tls, {
      cert_file: "/etc/chorus-tls/tls.crt",
      key_file: "/etc/chorus-tls/tls.key",
      client_ca_file: "/etc/chorus-tls/ca.crt",
      client_auth: "none",
    });
  });

  it("generates certificates that grpc-js accepts: agents serve the orchestrator's and refuse another identity's", async () => {
    const files = (identity: string) => {
      const secret = find(generated, "Secret", `chorus-${identity}-tls`);
      const paths = { ca_file: "ca.crt", cert_file: "tls.crt", key_file: "tls.key" };
      return Object.fromEntries(
        Object.entries(paths).map(([field, key]) => {
          const path = join(dir, `${identity}-${key}`);
          writeFileSync(path, decoded(secret, key));
          return [field, path];
        }),
      ) as typeof paths;
    };
    const server: RunningServer = await serve({
      host: "127.0.0.1",
      port: 0,
      log: createLogger("chart-tls-test", "silent"),
      credentials: watchedServerCredentials(files("agent"), "require", 60_000),
      gatekeeper: orchestratorOnly("chorus-orchestrator"),
      services: [
        bind(AgentService, {
          generate: async () => ({}),
          async *generateStream() {},
          describe: async () => ({ agent: "creative" }),
          async *taskChannel() {},
        }),
      ],
    });
    const as = (identity: string) => watchedChannelCredentials(files(identity), "chorus-agent", 60_000);
    const deadline = () => ({ deadline: new Date(Date.now() + 5000) });
    const orchestrator = createClient(AgentService, server.address, {}, as("orchestrator"));
    const history = createClient(AgentService, server.address, {}, as("history"));
    const health = createClient(Health, server.address, {}, as("history"));
    try {
      assert.equal((await orchestrator.describe({}, deadline())).agent, "creative");
      assert.equal((await health.check({ service: "" }, deadline())).status, Serving.SERVING);
      await assert.rejects(history.describe({}, deadline()), { code: status.UNAUTHENTICATED });
    } finally {
      for (const client of [orchestrator, history, health]) client.close();
      await server.close(100);
    }
  });

  it("asks cert-manager for the same Secrets, from a CA it makes or from the Issuer given", () => {
    const own = renderChart([...KEYS, "--set", "tls.source=certManager"]);
    const kinds = own
      .filter((m) => m.apiVersion === "cert-manager.io/v1")
      .map((m) => `${m.kind}/${m.metadata.name}`);
    assert.deepEqual(kinds.sort(), [
      "Certificate/chorus-agent",
      "Certificate/chorus-ca",
      "Certificate/chorus-history",
      "Certificate/chorus-orchestrator",
      "Issuer/chorus-ca",
      "Issuer/chorus-selfsigned",
    ]);
    assert.deepEqual(
      own.filter((m) => m.kind === "Secret").map((m) => m.metadata.name),
      [],
    );
    const caCert = find(own, "Certificate", "chorus-ca").spec;
    assert.equal(caCert.isCA, true);
    assert.equal(caCert.issuerRef.name, "chorus-selfsigned");
    assert.equal(find(own, "Issuer", "chorus-ca").spec.ca.secretName, caCert.secretName);
    const given = renderChart([
      ...KEYS,
      "--set",
      "tls.source=certManager",
      "--set",
      "tls.certManager.issuerRef.name=corp-ca",
      "--set",
      "tls.certManager.issuerRef.kind=ClusterIssuer",
    ]);
    assert.ok(!given.some((m) => m.kind === "Issuer" || m.metadata.name === "chorus-ca"));
    for (const [rendered, issuer] of [
      [own, { name: "chorus-ca", kind: "Issuer", group: "cert-manager.io" }],
      [given, { name: "corp-ca", kind: "ClusterIssuer", group: "cert-manager.io" }],
    ] as const) {
      for (const identity of IDENTITIES) {
        const spec = find(rendered, "Certificate", `chorus-${identity}`).spec;
        assert.equal(spec.secretName, `chorus-${identity}-tls`);
        assert.deepEqual(spec.issuerRef, issuer);
        assert.deepEqual(spec.usages.filter((u: string) => u.endsWith(" auth")).sort(), [
          "client auth",
          "server auth",
        ]);
        assert.equal(spec.commonName, spec.dnsNames[0]);
      }
      assert.deepEqual(
        find(rendered, "Certificate", "chorus-orchestrator").spec.dnsNames,
        ORCHESTRATOR_NAMES,
      );
      assert.deepEqual(find(rendered, "Certificate", "chorus-agent").spec.dnsNames, ["chorus-agent"]);
      assert.equal(
        secretMountedAt(find(rendered, "Deployment", "chorus-agent-creative"), "/etc/chorus-tls"),
        "chorus-agent-tls",
      );
    }
  });

  it("mounts Secrets the operator names (or <fullname>-<identity>-tls) and makes none with existingSecrets", () => {
    const rendered = renderChart([
      ...KEYS,
      "--set",
      "tls.source=existingSecrets",
      "--set",
      "tls.existingSecrets.agent=agents-cert",
    ]);
    assert.deepEqual(
      rendered.filter((m) => m.kind === "Secret" || m.apiVersion === "cert-manager.io/v1"),
      [],
    );
    assert.equal(
      secretMountedAt(find(rendered, "Deployment", "chorus-agent-balanced"), "/etc/chorus-tls"),
      "agents-cert",
    );
    assert.equal(
      secretMountedAt(find(rendered, "StatefulSet", "chorus-history"), "/etc/chorus-tls"),
      "chorus-history-tls",
    );
    assert.equal(
      secretMountedAt(find(rendered, "Deployment", "chorus-orchestrator"), "/etc/chorus-tls"),
      "chorus-orchestrator-tls",
    );
  });
});

describe("charts/chorus keeps secrets out of ConfigMaps", () => {
  const key = "chorus_0123456789abcdef_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";
  const hash = `sha256:${"ab".repeat(32)}`;
  const keysFile = join(dir, "keys.yaml");
  writeFileSync(
    keysFile,
    `# the key ${key} (a careless operator's note)\nkeys:\n  - id: 0123456789abcdef\n    hash: ${hash}\n    principal: alice\n    roles: [user]\n`,
  );
  const everything = [
    "--set",
    "openai.baseUrl=https://api.openai.com/v1",
    "--set",
    "openai.apiKey=sk-test-9f8e7d6c5b4a",
    "--set",
    "redis.enabled=true",
    "--set",
    "config.security.auth.oidc.issuer=https://id.example.com",
    "--set",
    "config.security.auth.oidc.audience=chorus",
    "--set",
    "config.security.tls.client_auth=optional",
    "--set",
    "tls.extraDnsNames[0]=chorus.example.com",
  ];
  const renders: [string, string[]][] = [
    [
      "generated certificates and a keys file value",
      [...everything, "--set-file", `auth.keysFile=${keysFile}`],
    ],
    ["cert-manager", [...everything, "--set", "tls.source=certManager", ...KEYS]],
    [
      "existing Secrets for everything",
      [
        ...KEYS,
        "--set",
        "tls.source=existingSecrets",
        "--set",
        "openai.baseUrl=https://api.openai.com/v1",
        "--set",
        "openai.existingSecret=my-openai",
        "--set",
        "redis.existingSecret=my-redis",
      ],
    ],
    [
      "the explicit no-auth risk",
      ["--set", "config.security.insecure=true", "--set", "openai.apiKey=sk-test-9f8e7d6c5b4a"],
    ],
  ];
  for (const [what, args] of renders) {
    it(`with ${what}: no private key, API key, key hash or OpenAI key in a ConfigMap; OPENAI_API_KEY only from a Secret`, () => {
      const rendered = renderChart(args);
      const maps = rendered.filter((m) => m.kind === "ConfigMap");
      assert.ok(maps.length > 0);
      for (const map of maps) {
        const text = JSON.stringify(map);
        const name = map.metadata.name;
        assert.doesNotMatch(text, /PRIVATE KEY/, `${name}: a PEM private key`);
        assert.doesNotMatch(text, /chorus_[a-z0-9]{4,32}_[A-Za-z0-9_-]{43}/, `${name}: an API key`);
        assert.doesNotMatch(text, /sha256:[0-9a-f]{64}/, `${name}: a keys-file hash`);
        assert.doesNotMatch(text, /sk-test|OPENAI_API_KEY/, `${name}: the OpenAI key`);
      }
      const containers = workloads(rendered).flatMap((m) => podSpecOf(m).containers);
      for (const container of containers) {
        assert.equal(container.envFrom, undefined, `${container.name}: no envFrom`);
        for (const env of container.env ?? []) {
          if (env.name !== "OPENAI_API_KEY") continue;
          assert.equal(env.value, undefined, `${container.name}: OPENAI_API_KEY as a plain value`);
          assert.ok(env.valueFrom?.secretKeyRef?.name, `${container.name}: OPENAI_API_KEY from a Secret`);
        }
      }
      assert.ok(
        containers.some((c) => c.env?.some((e: Manifest) => e.name === "OPENAI_API_KEY")),
        "the render has an OPENAI_API_KEY to check",
      );
      const generated = rendered.filter((m) => m.kind === "Secret" && m.metadata.name.endsWith("-tls"));
      if (what.startsWith("generated")) {
        assert.equal(generated.length, 3, "the private keys are in Secrets");
        assert.match(decoded(generated[0] ?? {}, "tls.key"), /PRIVATE KEY/);
        assert.match(find(rendered, "Secret", "chorus-api-keys").stringData["keys.yaml"], /sha256:/);
      }
    });
  }
});
