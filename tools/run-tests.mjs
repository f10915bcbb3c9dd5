// Provisions what the tests need (tools/test-setup), then runs every *.test.ts under the workspace
// folders, charts and e2e with node:test; Node 20's --test does not expand globs.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, sep } from "node:path";
import { ProvisionError, provision } from "./test-setup/provision.mjs";

/** Where tests live: each workspace pattern's folder (`services/*` → services), plus charts and e2e. */
function testRoots() {
  const { workspaces = [] } = JSON.parse(readFileSync("package.json", "utf8"));
  const folders = workspaces.map((pattern) => pattern.split("/*")[0].replace(/\/$/, ""));
  return [...new Set([...folders, "charts", "e2e"])];
}

/** Every *.test.ts under `root`, outside node_modules and dist; none when `root` does not exist. */
function testFiles(root) {
  let paths;
  try {
    paths = readdirSync(root, { recursive: true, encoding: "utf8" });
  } catch (err) {
    if (err.code === "ENOENT") return [];
    throw err;
  }
  return paths
    .filter((path) => path.endsWith(".test.ts"))
    .filter((path) => !path.split(sep).some((part) => part === "node_modules" || part === "dist"))
    .map((path) => join(root, path));
}

const filters = process.argv.slice(2);
const files = testRoots()
  .flatMap(testFiles)
  .filter((path) => filters.length === 0 || filters.some((filter) => path.includes(filter)))
  .sort();

if (files.length === 0) {
  console.error("run-tests: no test files found");
  process.exit(1);
}

let env;
try {
  env = await provision();
} catch (err) {
  if (!(err instanceof ProvisionError)) throw err;
  console.error(err.message);
  process.exit(1);
}

const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=1", "--test-force-exit", ...files],
  { stdio: "inherit", env: { ...process.env, ...env } },
);
process.exit(result.status ?? 1);
