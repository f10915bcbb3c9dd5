// Runs every *.test.ts under the workspaces with node:test; Node 20's --test does not expand globs.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const roots = ["services", "tools", "bench"];
const files = roots
  .flatMap((root) => {
    try {
      return readdirSync(root, { recursive: true, encoding: "utf8" }).map((path) => join(root, path));
    } catch {
      return [];
    }
  })
  .filter((path) => path.endsWith(".test.ts") && !path.includes("node_modules") && !path.includes("/dist/"))
  .filter((path) => process.argv.length <= 2 || process.argv.slice(2).some((filter) => path.includes(filter)))
  .sort();

if (files.length === 0) {
  console.error("run-tests: no test files found");
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=1", "--test-force-exit", ...files],
  {
    stdio: "inherit",
  },
);
process.exit(result.status ?? 1);
