import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { CHART_DIR, REPO_ROOT } from "../scripts/helm.js";

// No Docker engine runs here, so the image is never built in tests: these check, by reading
// the Dockerfile, the invariants the chart and the services rely on.

interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** The Dockerfile's instructions, with line continuations joined and comments dropped. */
function instructions(text: string): Instruction[] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const [op = "", ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(" ") };
    });
}

const dockerfile = instructions(readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8"));
const lock = JSON.parse(readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8"));
const lastFrom = dockerfile.map((i) => i.op).lastIndexOf("FROM");
const runtime = dockerfile.slice(lastFrom);

/** The major of the Node image, from `ARG NODE_IMAGE=node:<major>-<debian>-slim`. */
function nodeMajor(): number {
  const arg = dockerfile.find((i) => i.op === "ARG" && i.args.startsWith("NODE_IMAGE="));
  const match = /^NODE_IMAGE=node:(\d+)(?:\.\d+\.\d+)?-(bookworm|trixie)-slim$/.exec(arg?.args ?? "");
  assert.ok(match, `ARG NODE_IMAGE must pin node:<version>-<debian release>-slim, got ${arg?.args}`);
  return Number(match[1]);
}

/** Whether Node `major` (any minor) satisfies an engines range, comparing majors only. */
function satisfiesMajor(major: number, range: string): boolean {
  return range.split("||").some((part) =>
    part
      .replace(/([<>=^~]+)\s+/g, "$1")
      .trim()
      .split(/\s+/)
      .every((term) => {
        const match = /^(>=|>|<=|<|\^|~)?v?(\d+)/.exec(term);
        if (!match) return true; // "*" or "x"
        const want = Number(match[2]);
        switch (match[1]) {
          case ">=":
          case ">":
            return major >= want;
          case "<":
            return major < want;
          case "<=":
            return major <= want;
          default:
            return major === want;
        }
      }),
  );
}

describe("Dockerfile (read, not built: no Docker engine here)", () => {
  it("bases both stages on one Node LTS image whose major satisfies every runtime package's engines", () => {
    const major = nodeMajor();
    assert.equal(major % 2, 0, "even Node majors are the LTS lines");
    const froms = dockerfile.filter((i) => i.op === "FROM").map((i) => i.args.split(/\s+/)[0]);
    assert.equal(froms.length, 2, "a build stage and a runtime stage");
    for (const from of froms) assert.match(from ?? "", /^\$\{NODE_IMAGE\}$/);
    const packages = Object.entries(lock.packages as Record<string, { dev?: boolean; engines?: unknown }>);
    const failing = packages
      .filter(([, pkg]) => !pkg.dev && typeof (pkg.engines as { node?: unknown })?.node === "string")
      .map(([path, pkg]) => [path || "(root)", (pkg.engines as { node: string }).node])
      .filter(([, range]) => !satisfiesMajor(major, range ?? ""));
    assert.deepEqual(failing, [], `Node ${major} does not satisfy these engines`);
  });

  it("installs from the lockfile with every workspace manifest, builds the bundle and drops dev dependencies", () => {
    const ci = dockerfile.findIndex((i) => i.op === "RUN" && /\bnpm ci\b/.test(i.args));
    assert.ok(ci > 0, "RUN npm ci");
    const copied = dockerfile
      .slice(0, ci)
      .filter((i) => i.op === "COPY")
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    const workspaces = Object.keys(lock.packages).filter((p) => p && !p.includes("node_modules"));
    for (const file of ["package.json", "package-lock.json", ...workspaces.map((w) => `${w}/package.json`)]) {
      assert.ok(
        copied.includes(file),
        `${file} is copied before npm ci (or npm ci fails on a missing workspace)`,
      );
    }
    const build = dockerfile.find((i) => i.op === "RUN" && i.args.includes("npm run build"));
    assert.match(build?.args ?? "", /npm prune --omit=dev/);
  });

  it("runs the chorus CLI bundle as a fixed non-root user, the chart's runAsUser and fsGroup", () => {
    const entrypoint = runtime.find((i) => i.op === "ENTRYPOINT");
    assert.deepEqual(JSON.parse(entrypoint?.args ?? "[]"), ["node", "/app/tools/cli/dist/chorus.mjs"]);
    assert.ok(
      existsSync(join(REPO_ROOT, "tools/cli/dist/chorus.mjs")),
      "npm run build writes tools/cli/dist/chorus.mjs (run it first)",
    );
    assert.ok(
      runtime.some((i) => i.op === "COPY" && /\/app\/tools\/cli\/dist \.\/tools\/cli\/dist$/.test(i.args)),
      "the runtime stage copies the whole dist directory (the entry and its chunks)",
    );
    const users = runtime.filter((i) => i.op === "USER");
    assert.equal(users.length, 1);
    const [uid, gid] = (users[0]?.args ?? "").split(":").map(Number);
    assert.ok(
      uid && uid > 0 && gid && gid > 0,
      "USER is a numeric non-root uid:gid (runAsNonRoot can verify it)",
    );
    assert.ok(
      runtime.findIndex((i) => i.op === "USER") < runtime.findIndex((i) => i.op === "ENTRYPOINT"),
      "USER comes before ENTRYPOINT",
    );
    const values = parse(readFileSync(join(CHART_DIR, "values.yaml"), "utf8"));
    assert.equal(values.podSecurityContext.runAsUser, uid);
    assert.equal(values.podSecurityContext.fsGroup, gid);
  });

  it("keeps /data, owned by that user, as the only writable directory and the working directory", () => {
    const setup = runtime.find((i) => i.op === "RUN" && i.args.includes("useradd"))?.args ?? "";
    assert.match(setup, /mkdir \/data/);
    assert.match(setup, /chown chorus:chorus \/data/);
    assert.match(setup, /--uid 10001/);
    assert.equal(runtime.filter((i) => i.op === "WORKDIR").at(-1)?.args, "/data");
    assert.ok(!runtime.some((i) => i.op === "VOLUME"), "no anonymous volumes; the chart mounts /data");
  });

  it("leaves node_modules, build output and local data out of the build context", () => {
    const ignored = readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith("#"));
    for (const pattern of ["**/node_modules", "**/dist", "data", ".git"]) {
      assert.ok(ignored.includes(pattern), `.dockerignore has ${pattern}`);
    }
  });
});
