import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { connect } from "node:tls";
import { CertificateAuthority, type KeyPair } from "@chorus/dev-ca";
import { AgentService, Health } from "@chorus/proto";
import { status } from "@grpc/grpc-js";
import { createClient } from "../grpc-client.js";
import { createLogger } from "../logger.js";
import { bind, type RunningServer, serve } from "../server.js";
import { type TlsFiles, watchedChannelCredentials, watchedServerCredentials } from "./credentials.js";
import { orchestratorOnly } from "./mesh.js";
import { type Principal, principalOf } from "./principal.js";

const log = createLogger("tls-test", "silent");
const dir = mkdtempSync(join(tmpdir(), "chorus-tls-"));
const servers: RunningServer[] = [];
/** The principal each served `describe` call carried, in order. */
const seen: (Principal | undefined)[] = [];
const agentHandlers = {
  generate: async () => ({}),
  async *generateStream() {},
  describe: async (_request: unknown, context: { metadata: import("@grpc/grpc-js").Metadata }) => {
    seen.push(principalOf(context.metadata));
    return { agent: "probe" };
  },
  async *taskChannel() {},
};
let ca: CertificateAuthority;
let otherCa: CertificateAuthority;

function save(name: string, pair: KeyPair, caCert: string): TlsFiles {
  const files = {
    cert_file: join(dir, `${name}.pem`),
    key_file: join(dir, `${name}-key.pem`),
    ca_file: join(dir, `${name}-ca.pem`),
  };
  writeFileSync(files.cert_file, pair.cert);
  writeFileSync(files.key_file, pair.key);
  writeFileSync(files.ca_file, caCert);
  return files;
}

async function start(files: TlsFiles, clientAuth: "none" | "require", mesh = false): Promise<RunningServer> {
  const server = await serve({
    host: "127.0.0.1",
    port: 0,
    services: [bind(AgentService, agentHandlers)],
    log,
    credentials: watchedServerCredentials(files, clientAuth, 100),
    gatekeeper: mesh ? orchestratorOnly("chorus-orchestrator") : undefined,
  });
  servers.push(server);
  return server;
}

/** AgentService.Describe: not open like health, so it passes the gatekeeper when there is one. */
async function check(address: string, files: Partial<TlsFiles> | undefined, serverName?: string) {
  const transport = files ? watchedChannelCredentials(files, serverName, 100) : undefined;
  const client = createClient(AgentService, address, {}, transport);
  try {
    return await client.describe({}, { deadline: new Date(Date.now() + 3000) });
  } finally {
    client.close();
  }
}

async function health(address: string, files: Partial<TlsFiles>, serverName: string) {
  const client = createClient(Health, address, {}, watchedChannelCredentials(files, serverName, 100));
  try {
    return await client.check({ service: "" }, { deadline: new Date(Date.now() + 3000) });
  } finally {
    client.close();
  }
}

/** The fingerprint of the certificate the port serves now (retried while the server loads its files). */
async function servedFingerprint(port: number): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fingerprintOnce(port);
    } catch (err) {
      if (attempt >= 20) throw err;
      await delay(100);
    }
  }
}

function fingerprintOnce(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: "127.0.0.1", port, rejectUnauthorized: false, ALPNProtocols: ["h2"] },
      () => {
        resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? "");
        socket.end();
      },
    );
    socket.on("error", reject);
  });
}

before(async () => {
  ca = await CertificateAuthority.create();
  otherCa = await CertificateAuthority.create("Someone else's CA");
});
after(async () => {
  for (const server of servers) await server.close(100);
  rmSync(dir, { recursive: true, force: true });
});

describe("TLS on a Chorus port", () => {
  it("serves a client that trusts the server's CA and checks the name it was told to expect", async () => {
    const server = await start(
      save("srv1", await ca.issue({ name: "chorus-history", ips: ["127.0.0.1"] }), ca.cert),
      "none",
    );
    const answer = await check(server.address, { ca_file: join(dir, "srv1-ca.pem") }, "chorus-history");
    assert.equal(answer.agent, "probe");
    await assert.rejects(check(server.address, { ca_file: join(dir, "srv1-ca.pem") }, "chorus-agent"), {
      code: status.UNAVAILABLE,
    });
  });

  it("rejects a client that trusts another CA", async () => {
    const server = await start(save("srv2", await ca.issue({ name: "chorus-history" }), ca.cert), "none");
    writeFileSync(join(dir, "other-ca.pem"), otherCa.cert);
    await assert.rejects(check(server.address, { ca_file: join(dir, "other-ca.pem") }, "chorus-history"), {
      code: status.UNAVAILABLE,
    });
  });

  it("rejects an expired server certificate", async () => {
    const server = await start(
      save("srv3", await ca.issue({ name: "chorus-history", days: -1 }), ca.cert),
      "none",
    );
    await assert.rejects(check(server.address, { ca_file: join(dir, "srv3-ca.pem") }, "chorus-history"), {
      code: status.UNAVAILABLE,
    });
  });

  it("fails a plaintext client on a TLS port cleanly, and the port keeps serving", async () => {
    const server = await start(save("srv4", await ca.issue({ name: "chorus-history" }), ca.cert), "none");
    await assert.rejects(check(server.address, undefined), { code: status.UNAVAILABLE });
    const answer = await check(server.address, { ca_file: join(dir, "srv4-ca.pem") }, "chorus-history");
    assert.equal(answer.agent, "probe");
  });

  it("serves a rotated certificate without a restart", async () => {
    const files = save("srv5", await ca.issue({ name: "chorus-history" }), ca.cert);
    const server = await start(files, "none");
    const before = await servedFingerprint(server.port);
    const rotated = await ca.issue({ name: "chorus-history" });
    writeFileSync(files.cert_file, rotated.cert);
    writeFileSync(files.key_file, rotated.key);
    const expected = new X509Certificate(rotated.cert).fingerprint256;
    let served = before;
    for (let i = 0; i < 50 && served !== expected; i++) {
      await delay(100);
      served = await servedFingerprint(server.port);
    }
    assert.notEqual(before, expected);
    assert.equal(served, expected, "the new certificate is served by the running server");
    const answer = await check(server.address, { ca_file: files.ca_file }, "chorus-history");
    assert.equal(answer.agent, "probe");
  });
});

describe("mTLS inside the mesh", () => {
  it("admits the orchestrator's certificate, and hands handlers the mesh principal", async () => {
    const server = await start(
      save("agent1", await ca.issue({ name: "chorus-agent" }), ca.cert),
      "require",
      true,
    );
    const orchestrator = save("orch1", await ca.issue({ name: "chorus-orchestrator" }), ca.cert);
    seen.length = 0;
    assert.equal((await check(server.address, orchestrator, "chorus-agent")).agent, "probe");
    assert.equal(seen[0]?.id, "chorus-orchestrator");
    assert.equal(seen[0]?.via, "mesh");
  });

  it("refuses another mesh identity's certificate with UNAUTHENTICATED, and health stays open to it", async () => {
    const server = await start(
      save("agent2", await ca.issue({ name: "chorus-agent" }), ca.cert),
      "require",
      true,
    );
    const history = save("hist2", await ca.issue({ name: "chorus-history" }), ca.cert);
    seen.length = 0;
    await assert.rejects(
      check(server.address, history, "chorus-agent"),
      (err: { code: number; details: string }) => {
        assert.equal(err.code, status.UNAUTHENTICATED);
        assert.match(err.details, /only the orchestrator \(chorus-orchestrator\) may call this service/);
        assert.match(err.details, /chorus-history/);
        return true;
      },
    );
    assert.equal(seen.length, 0, "the handler never ran");
    assert.equal((await health(server.address, history, "chorus-agent")).status, 1);
  });

  it("judges each connection by its own certificate, however many calls one carries (the verdict is per connection)", async () => {
    const server = await start(
      save("agent4", await ca.issue({ name: "chorus-agent" }), ca.cert),
      "require",
      true,
    );
    const orchestrator = save("orch4", await ca.issue({ name: "chorus-orchestrator" }), ca.cert);
    const history = save("hist4", await ca.issue({ name: "chorus-history" }), ca.cert);
    const admitted = createClient(
      AgentService,
      server.address,
      {},
      watchedChannelCredentials(orchestrator, "chorus-agent", 100),
    );
    const refused = createClient(
      AgentService,
      server.address,
      {},
      watchedChannelCredentials(history, "chorus-agent", 100),
    );
    const soon = () => ({ deadline: new Date(Date.now() + 3000) });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await admitted.describe({}, soon())).agent, "probe");
      for (let i = 0; i < 2; i++)
        await assert.rejects(refused.describe({}, soon()), { code: status.UNAUTHENTICATED });
      assert.equal((await admitted.describe({}, soon())).agent, "probe");
    } finally {
      admitted.close();
      refused.close();
    }
  });

  it("refuses a certificate from another CA, and a client without one, at the handshake", async () => {
    const server = await start(
      save("agent3", await ca.issue({ name: "chorus-agent" }), ca.cert),
      "require",
      true,
    );
    const stranger = save("stranger", await otherCa.issue({ name: "chorus-orchestrator" }), ca.cert);
    await assert.rejects(check(server.address, stranger, "chorus-agent"), { code: status.UNAVAILABLE });
    await assert.rejects(check(server.address, { ca_file: stranger.ca_file }, "chorus-agent"), {
      code: status.UNAVAILABLE,
    });
  });
});
