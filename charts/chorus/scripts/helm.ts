import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { BUILD_COMMAND, binDir, K8S_VERSION, REPO_ROOT } from "@chorus/testenv";
import { parseAllDocuments } from "yaml";

/** The chart and its plain-manifest twin k8s/, as absolute paths. */
export const CHART_DIR = join(REPO_ROOT, "charts/chorus");
export const K8S_DIR = join(REPO_ROOT, "k8s");
export { K8S_VERSION, REPO_ROOT };

/** A Kubernetes object as parsed from YAML. */
// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped trees; tests assert on their shape.
export type Manifest = Record<string, any>;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds helm or kubectl: $HELM / $KUBECTL, then the testenv cache, then PATH. Throws (so a test
 * fails, never skips, and a generator stops) with how to get it.
 */
export function findTool(name: "helm" | "kubectl"): string {
  const fromEnv = process.env[name.toUpperCase()];
  const candidates = [
    ...(fromEnv ? [fromEnv] : []),
    join(binDir(), name),
    ...(process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, name)),
  ];
  const found = candidates.find(executable);
  if (found) return found;
  throw new Error(
    `${name} not found (looked at $${name.toUpperCase()}, ${binDir()} and PATH). Build it with ` +
      `\`${BUILD_COMMAND}\` (it pins helm 3 and kubectl ${K8S_VERSION}), or set $${name.toUpperCase()}.`,
  );
}

/** The outcome of one tool run. */
export interface ToolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs helm or kubectl from the repo root and returns its exit code and output. */
export function runTool(name: "helm" | "kubectl", args: readonly string[]): ToolResult {
  const result = spawnSync(findTool(name), args, { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000 });
  if (result.error) throw result.error;
  return { code: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

/** Parses a multi-document YAML stream into its non-empty objects. */
export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]?.message}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((doc): doc is Manifest => doc !== null && typeof doc === "object");
}

/**
 * The text of `helm template chorus charts/chorus` in namespace default for Kubernetes
 * K8S_VERSION, plus `args` (e.g. --set); throws with helm's error output.
 */
export function helmTemplate(args: readonly string[] = []): string {
  const result = runTool("helm", [
    "template",
    "chorus",
    CHART_DIR,
    "--namespace",
    "default",
    "--kube-version",
    K8S_VERSION,
    ...args,
  ]);
  if (result.code !== 0) throw new Error(`helm template failed (${result.code}):\n${result.stderr}`);
  return result.stdout;
}

/** The objects `helmTemplate(args)` renders. */
export function renderChart(args: readonly string[] = []): Manifest[] {
  return parseManifests(helmTemplate(args));
}

/** `kind/name` of an object, the key the tests index by. */
export function keyOf(manifest: Manifest): string {
  return `${manifest.kind}/${manifest.metadata?.name}`;
}

/** The one object of this kind and name; throws listing what there is. */
export function find(manifests: readonly Manifest[], kind: string, name: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && m.metadata?.name === name);
  if (!found) throw new Error(`no ${kind}/${name} in: ${manifests.map(keyOf).join(", ")}`);
  return found;
}

/** The pod spec of a Deployment, StatefulSet or Pod. */
export function podSpecOf(manifest: Manifest): Manifest {
  return manifest.kind === "Pod" ? manifest.spec : manifest.spec.template.spec;
}
