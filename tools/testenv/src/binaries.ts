import { accessSync, constants } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The Kubernetes version that build.sh pins; the cache dir is named after it. */
export const K8S_VERSION = "1.36.3";

/** The binaries build.sh puts into the cache bin dir. */
export const BINARIES = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kubectl",
  "helm",
  "grpcurl",
] as const;

/** The repository root (tools/testenv/src → ../../..). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The command that builds the binaries, for error messages. */
export const BUILD_COMMAND = "bash tools/testenv/build.sh";

/** The versioned cache bin dir, `${CHORUS_CACHE:-/var/cache/chorus/v1}/k8s-<version>/bin`. */
export function binDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.CHORUS_CACHE || "/var/cache/chorus/v1", `k8s-${K8S_VERSION}`, "bin");
}

/** Returns the bin dir, or throws naming the missing binaries and the build command. */
export function requireBinaries(dir = binDir()): string {
  const missing = BINARIES.filter((name) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new Error(
      `testenv: missing ${missing.join(", ")} in ${dir}; build them with \`${BUILD_COMMAND}\` ` +
        "(cold: about 10 minutes on 2 cores; then cached)",
    );
  }
  return dir;
}
