import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { CertificateAuthority } from "@chorus/dev-ca";
import {
  createLogger,
  orchestratorOnly,
  type RunningServer,
  serve,
  watchedServerCredentials,
} from "@chorus/shared";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "chorus-health-"));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

/** Runs the real CLI (asynchronously: the server under test lives in this process). */
function chorus(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", MAIN, ...args],
      { encoding: "utf8", timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

// A server shaped like history in the chart: mTLS that requires a client certificate from the
// mesh CA, a certificate naming only chorus-history (no IP), and the orchestrator-only gatekeeper.
let server: RunningServer;
const files = { ca: "", cert: "", key: "", otherCa: "" };

before(async () => {
  const ca = await CertificateAuthority.create();
  const history = await ca.issue({ name: "chorus-history" });
  const orchestrator = await ca.issue({ name: "chorus-orchestrator" });
  files.ca = file("ca.crt", ca.cert);
  files.cert = file("tls.crt", orchestrator.cert);
  files.key = file("tls.key", orchestrator.key);
  files.otherCa = file("other-ca.crt", (await CertificateAuthority.create("Someone else's CA")).cert);
  server = await serve({
    host: "127.0.0.1",
    port: 0,
    services: [],
    log: createLogger("health-test", "silent"),
    credentials: watchedServerCredentials(
      {
        ca_file: files.ca,
        cert_file: file("history.crt", history.cert),
        key_file: file("history.key", history.key),
      },
      "require",
      1000,
    ),
    gatekeeper: orchestratorOnly("chorus-orchestrator"),
  });
});
after(async () => {
  await server?.close(100);
  rmSync(dir, { recursive: true, force: true });
});

describe("chorus health over TLS", () => {
  it("reports SERVING through mTLS with the CA, a client certificate and the name the server must carry", async () => {
    const run = await chorus(
      "health",
      server.address,
      "--cacert",
      files.ca,
      "--cert",
      files.cert,
      "--key",
      files.key,
      "--server-name",
      "chorus-history",
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${server.address} SERVING\n`);
  });

  const failing: [string, string[]][] = [
    ["plaintext", []],
    ["no client certificate", ["--cacert", "ca", "--server-name", "chorus-history"]],
    [
      "another name than the certificate's",
      ["--cacert", "ca", "--cert", "cert", "--key", "key", "--server-name", "chorus-agent"],
    ],
    ["no --server-name (the certificate names no IP)", ["--cacert", "ca", "--cert", "cert", "--key", "key"]],
    [
      "another CA",
      ["--cacert", "otherCa", "--cert", "cert", "--key", "key", "--server-name", "chorus-history"],
    ],
  ];
  for (const [what, flags] of failing) {
    it(`fails (exit 1) with ${what}`, async () => {
      const args = flags.map((flag) => files[flag as keyof typeof files] ?? flag);
      const run = await chorus("health", server.address, ...args);
      assert.equal(run.code, 1, run.stdout);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, /UNAVAILABLE/);
    });
  }

  it("refuses --cert without --key, and an unreadable file, naming the flag (exit 2)", async () => {
    const half = await chorus("health", server.address, "--cert", files.cert);
    assert.equal(half.code, 2);
    assert.match(half.stderr, /--cert and --key go together/);
    const missing = await chorus("health", server.address, "--cacert", join(dir, "nope.crt"));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--cacert .*nope\.crt: cannot read: ENOENT/);
  });
});
