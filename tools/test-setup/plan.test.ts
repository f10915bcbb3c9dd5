import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import {
  otelcolBinDir,
  OTELCOL_BINARY as SHARED_OTELCOL_BINARY,
  OTELCOL_VERSION as SHARED_OTELCOL_VERSION,
} from "@chorus/shared/testing";
import { BINARIES, K8S_VERSION as TESTENV_K8S_VERSION } from "@chorus/testenv";
import { chooseCache, DEFAULT_CACHE, Machine } from "./machine.mjs";
import { explain, makePlan } from "./plan.mjs";
import { ProvisionError, provision, testEnv } from "./provision.mjs";
import {
  GO_TOOLS,
  K8S_VERSION,
  OTELCOL_BINARY,
  OTELCOL_VERSION,
  otelcolBin,
  toolsBin,
} from "./requirements.mjs";

const dirs: string[] = [];

function script(path: string, body: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
}

/**
 * A machine in a temp dir: `commands` on its PATH, a /usr/bin/python3 that imports only
 * `python`, the grpc-proto files, optionally `go` printing `go`, PostgreSQL versions, the Go tools
 * and the collector (present with the Go tools unless `otelcol` says otherwise).
 */
function fakeMachine(options: {
  isRoot: boolean;
  commands: string[];
  python: string[];
  go?: string;
  postgres?: string[];
  goTools?: boolean;
  otelcol?: boolean;
}): Machine {
  const dir = mkdtempSync(join(tmpdir(), "chorus-test-setup-test-"));
  dirs.push(dir);
  const bin = join(dir, "bin");
  const root = join(dir, "root");
  const cache = join(dir, "cache");
  mkdirSync(bin, { recursive: true });
  for (const command of options.commands) script(join(bin, command), "exit 0");
  if (options.go) script(join(bin, "go"), `echo ${options.go}`);
  const imports = options.python.map((module) => `"import ${module}"`).join("|");
  script(join(root, "usr/bin/python3"), `case "$2" in ${imports}) exit 0;; esac\nexit 1`);
  script(join(root, "usr/share/grpc-proto/grpc/reflection/v1alpha/reflection.proto"), "");
  for (const version of options.postgres ?? []) {
    for (const name of ["initdb", "postgres"])
      script(join(root, `usr/lib/postgresql/${version}/bin/${name}`), "");
  }
  if (options.goTools) for (const tool of GO_TOOLS) script(join(toolsBin(cache), tool), "");
  if (options.otelcol ?? options.goTools) script(join(otelcolBin(cache), OTELCOL_BINARY), "");
  return new Machine({
    env: { PATH: bin, HOME: join(dir, "home"), CHORUS_CACHE: cache },
    isRoot: options.isRoot,
    root,
  });
}

const USER_LACKING = {
  isRoot: false,
  commands: ["redis-server", "openssl"],
  python: ["grpc"],
  go: "go1.22.5",
};

describe("test setup plan", () => {
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("lists exactly what a non-root user lacks, with one sudo apt-get command, and nothing it can run alone", () => {
    const machine = fakeMachine(USER_LACKING);
    const plan = makePlan(machine);
    assert.deepEqual(plan.missing, [
      "grpc-tools",
      "venv",
      "ip",
      "postgres",
      "go",
      "parsl",
      "go-tools",
      "otelcol",
    ]);
    assert.deepEqual(
      plan.gaps.map((gap: { ids: string[]; runnable: boolean }) => [gap.ids, gap.runnable]),
      [
        [["grpc-tools", "venv", "ip", "postgres"], false],
        [["go"], false],
        [["parsl"], false],
        [["go-tools"], false],
        [["otelcol"], false],
      ],
    );
    const [apt, , parsl, goTools, otelcol] = plan.gaps;
    assert.equal(
      apt.command,
      "sudo apt-get update && sudo apt-get install -y python3-grpc-tools python3-venv iproute2 postgresql",
    );
    assert.equal(apt.why, "not root, so apt-get cannot run");
    assert.equal(parsl.why, "needs python3 venv (ensurepip) first");
    assert.equal(goTools.why, "needs Go >= 1.26 on PATH first");
    assert.equal(goTools.command, `CHORUS_CACHE=${machine.cache} bash tools/testenv/build.sh`);
    assert.equal(otelcol.why, "needs Go >= 1.26 on PATH first");
    assert.equal(otelcol.command, `CHORUS_CACHE=${machine.cache} bash tools/testenv/build-otelcol.sh`);
  });

  it("words one message holding every missing piece's install command", () => {
    const plan = makePlan(fakeMachine(USER_LACKING));
    const message = explain(plan);
    assert.match(message, /^test-setup: no tests were run\. Missing:\n/);
    for (const gap of plan.gaps) assert.ok(message.includes(`\n      ${gap.command}\n`), gap.command);
  });

  it("stops before installing anything when a piece cannot be installed here", async () => {
    const machine = fakeMachine(USER_LACKING);
    await assert.rejects(
      provision({ machine, log: () => undefined }),
      (err: Error) => err instanceof ProvisionError && err.message.includes("sudo apt-get install -y"),
    );
  });

  it("as root with apt-get, runs one apt-get and then the scripts that wait for its packages", () => {
    const machine = fakeMachine({ ...USER_LACKING, isRoot: true, commands: ["apt-get"], go: "go1.26.1" });
    const plan = makePlan(machine);
    assert.deepEqual(plan.missing, [
      "redis",
      "grpc-tools",
      "venv",
      "ip",
      "openssl",
      "postgres",
      "parsl",
      "go-tools",
      "otelcol",
    ]);
    assert.ok(plan.gaps.every((gap: { runnable: boolean }) => gap.runnable));
    assert.equal(
      plan.gaps[0].command,
      "apt-get update && apt-get install -y redis-server python3-grpc-tools python3-venv iproute2 openssl postgresql",
    );
  });

  it("asks for Go only while the Go-built tools are missing", () => {
    const base = { isRoot: false, commands: [], python: [] };
    assert.ok(!makePlan(fakeMachine({ ...base, goTools: true })).missing.includes("go"));
    assert.ok(makePlan(fakeMachine({ ...base, goTools: false })).missing.includes("go"));
    const onlyCollector = makePlan(fakeMachine({ ...base, goTools: true, otelcol: false }));
    assert.deepEqual(
      onlyCollector.missing.filter((id: string) => id === "go" || id.startsWith("go-") || id === "otelcol"),
      ["go", "otelcol"],
    );
  });

  it("gives tests the Go tools, the collector and the newest PostgreSQL first on PATH, and the cache", () => {
    const machine = fakeMachine({ ...USER_LACKING, postgres: ["9", "16", "15"], goTools: true });
    const env = testEnv(machine);
    const pg = join(machine.system("/usr/lib/postgresql"), "16", "bin");
    assert.equal(
      env.PATH,
      [toolsBin(machine.cache), otelcolBin(machine.cache), pg, machine.env.PATH].join(":"),
    );
    assert.equal(env.CHORUS_CACHE, machine.cache);
  });

  it("keeps the cache in CHORUS_CACHE, else /var/cache/chorus/v1 if writable, else ~/.cache/chorus/v1", () => {
    assert.equal(
      chooseCache({ CHORUS_CACHE: "/c", HOME: "/h" }, "/", () => true),
      "/c",
    );
    assert.equal(
      chooseCache({ HOME: "/h" }, "/", () => true),
      DEFAULT_CACHE,
    );
    assert.equal(
      chooseCache({ HOME: "/h" }, "/", () => false),
      "/h/.cache/chorus/v1",
    );
    assert.equal(
      chooseCache({ HOME: "/h", XDG_CACHE_HOME: "/x" }, "/", () => false),
      "/x/chorus/v1",
    );
  });

  it("knows the same Go tools and Kubernetes version as testenv", () => {
    assert.deepEqual(GO_TOOLS, [...BINARIES]);
    assert.equal(K8S_VERSION, TESTENV_K8S_VERSION);
  });

  it("knows the same collector version, binary and bin dir as the shared test support", () => {
    assert.equal(OTELCOL_VERSION, SHARED_OTELCOL_VERSION);
    assert.equal(OTELCOL_BINARY, SHARED_OTELCOL_BINARY);
    assert.equal(otelcolBinDir({ CHORUS_CACHE: "/c" }), otelcolBin("/c"));
  });
});
