// Checks the import rules of the tree (run by `npm run lint`): the orchestrator's rooms import only
// downward, no import cycles, no service reaches into another service, and production code never
// imports test support. Exits 1 listing every violation.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";

/** The orchestrator's rooms, highest first: a room may import only rooms after it in this list. */
export const ORCHESTRATOR_ROOMS = ["api", "turn", "scaler", "executor", "providers", "scaling"];

/** Rooms beside the layers: any layer above `scaling` may import them; they import no other room. */
export const SIDE_ROOMS = ["cache", "telemetry"];

/** Packages every service may import from its production code; the rest are other services. */
export const PLATFORM_PACKAGES = ["@chorus/proto", "@chorus/shared", "@chorus/config"];

const SERVICE_PACKAGES = ["@chorus/agent", "@chorus/history", "@chorus/orchestrator", "@chorus/llm-sim"];
const TEST_SUPPORT = [/(^|\/)testing(\/|$)/, /^@chorus\/[a-z-]+\/testing$/, /^@chorus\/testenv(\/|$)/];
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** The module specifiers a source file imports or re-exports, static and dynamic. */
export function importsOf(source) {
  return [...source.matchAll(IMPORT)].map((match) => match[1] ?? match[2]);
}

function listSources(dir) {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((path) => /\.(ts|mjs)$/.test(path) && !path.includes("node_modules") && !path.includes("dist"))
    .map((path) => join(dir, path));
}

const isTest = (file) => file.endsWith(".test.ts");
// Test support, generator scripts, the benchmark harness and the e2e suite may use test support.
const TOOLING_DIRS = ["testing", "scripts", "bench", "e2e"];
const isTestSupport = (file) => isTest(file) || file.split(sep).some((part) => TOOLING_DIRS.includes(part));

function roomOf(srcDir, file) {
  const [first, ...rest] = relative(srcDir, file).split(sep);
  return rest.length === 0 ? undefined : first;
}

function roomRule(fromRoom, toRoom) {
  if (fromRoom === undefined || fromRoom === "testing" || fromRoom === toRoom) return undefined;
  if (toRoom === undefined) return "imports the wiring at the root of src";
  if (toRoom === "testing") return undefined;
  if (SIDE_ROOMS.includes(fromRoom)) return `side room ${fromRoom}/ imports ${toRoom}/`;
  if (SIDE_ROOMS.includes(toRoom)) return fromRoom === "scaling" ? "scaling/ must stay pure" : undefined;
  const from = ORCHESTRATOR_ROOMS.indexOf(fromRoom);
  const to = ORCHESTRATOR_ROOMS.indexOf(toRoom);
  if (from < 0 || to < 0) return `unknown room (${fromRoom}/ → ${toRoom}/)`;
  return to <= from ? `upward import: ${fromRoom}/ → ${toRoom}/` : undefined;
}

function providerSiblings(srcDir, file, target) {
  const a = relative(srcDir, file).split(sep);
  const b = relative(srcDir, target).split(sep);
  const nested = a[0] === "providers" && b[0] === "providers" && a.length > 2 && b.length > 2;
  return nested && a[1] !== b[1] ? `providers/${a[1]}/ imports providers/${b[1]}/` : undefined;
}

function findCycles(graph) {
  const cycles = [];
  const state = new Map();
  const stack = [];
  const visit = (node) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

/** Every rule violation under `root` (the repository), as readable lines. */
export function checkTree(repository) {
  const root = resolve(repository);
  const violations = [];
  const graph = new Map();
  const packageDirs = [
    ...["services", "tools", "charts"].flatMap((parent) => {
      try {
        return readdirSync(join(root, parent)).map((name) => join(root, parent, name));
      } catch {
        return [];
      }
    }),
    ...["config", "e2e", "bench", "proto"].map((name) => join(root, name)),
  ];
  for (const pkg of packageDirs) {
    // A package's sources are under src/ when it has one (charts hold tests/ and scripts/ instead).
    const srcDir = existsSync(join(pkg, "src")) ? join(pkg, "src") : pkg;
    let files;
    try {
      files = listSources(srcDir).filter((file) => !file.includes(`${sep}gen${sep}`));
    } catch {
      continue;
    }
    const isService = relative(root, pkg).startsWith("services");
    const isOrchestrator = relative(root, pkg) === join("services", "orchestrator");
    for (const file of files) {
      const where = relative(root, file);
      const edges = [];
      for (const spec of importsOf(readFileSync(file, "utf8"))) {
        const fail = (why) => violations.push(`${where}: imports "${spec}": ${why}`);
        if (!isTestSupport(where) && TEST_SUPPORT.some((pattern) => pattern.test(spec)))
          fail("production code imports test support");
        if (spec.startsWith(".")) {
          const target = resolve(dirname(file), spec.replace(/\.js$/, ".ts"));
          if (!target.startsWith(pkg + sep)) fail("reaches outside its package");
          edges.push(target);
          if (isOrchestrator && !isTest(file)) {
            const why = roomRule(roomOf(srcDir, file), roomOf(srcDir, target));
            if (why) fail(why);
            const sibling = providerSiblings(srcDir, file, target);
            if (sibling) fail(sibling);
          }
        } else if (isService && !isTest(file) && !isTestSupport(where)) {
          const pkgName = spec.split("/").slice(0, 2).join("/");
          if (SERVICE_PACKAGES.includes(pkgName)) fail("a service imports another service");
          if (/^@chorus\/[^/]+\/src\//.test(spec)) fail("imports another package's source");
        }
      }
      graph.set(file, edges);
    }
  }
  for (const cycle of findCycles(graph))
    violations.push(`import cycle: ${cycle.map((file) => relative(root, file)).join(" → ")}`);
  return violations;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const violations = checkTree(process.argv[2] ?? process.cwd());
  for (const line of violations) console.error(line);
  if (violations.length > 0) {
    console.error(`dependency-rules: ${violations.length} violation(s)`);
    process.exit(1);
  }
  console.log("dependency-rules: ok");
}
