// What `npm test` needs beyond node_modules, one entry each: its name, how to see it is there, how to get it.
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The repository root (tools/test-setup → ../..). */
export const REPO_ROOT = new URL("../../", import.meta.url).pathname;

/** The scripts that build the Go tools and the Parsl virtualenv; they also hold the pinned versions. */
export const BUILD_SCRIPT = "tools/testenv/build.sh";
export const VENV_SCRIPT = "tools/parsl-oracle/ensure-venv.sh";
export const OTELCOL_SCRIPT = "tools/testenv/build-otelcol.sh";

/** Reads `NAME="value"` from a script, so each version is pinned in one place. */
function pinned(script, name) {
  const text = readFileSync(join(REPO_ROOT, script), "utf8");
  const value = new RegExp(`^${name}="?([^"\\s]+)"?`, "m").exec(text)?.[1];
  if (!value) throw new Error(`test-setup: no ${name}= in ${script}`);
  return value;
}

export const K8S_VERSION = pinned(BUILD_SCRIPT, "K8S_VERSION");
export const PARSL_VERSION = pinned(VENV_SCRIPT, "PARSL_VERSION");
export const OTELCOL_VERSION = pinned(OTELCOL_SCRIPT, "OTELCOL_VERSION");

/** The oldest Go that builds k8s.io/kubernetes at K8S_VERSION (build.sh forbids toolchain downloads); the collector needs less. */
export const GO_MIN = [1, 26];

/** What build.sh puts in the cache bin dir (the same list as testenv's BINARIES; a test checks). */
export const GO_TOOLS = ["etcd", "kube-apiserver", "kube-controller-manager", "kubectl", "helm", "grpcurl"];

/** The cache's bin dir for the Go tools: <cache>/k8s-<version>/bin. */
export function toolsBin(cache) {
  return join(cache, `k8s-${K8S_VERSION}`, "bin");
}

/** What build-otelcol.sh builds: the OpenTelemetry Collector the tracing tests send spans to. */
export const OTELCOL_BINARY = "otelcol-chorus";

/** The cache's bin dir for the collector: <cache>/otelcol-<version>/bin. */
export function otelcolBin(cache) {
  return join(cache, `otelcol-${OTELCOL_VERSION}`, "bin");
}

/**
 * @typedef {{ apt: string } | { manual: string } | { script: string, needs: string[], takes?: string }} Install
 * @typedef {{
 *   id: string,
 *   name: string,
 *   present: (machine: import("./machine.mjs").Machine) => boolean,
 *   install: Install,
 *   onlyFor?: string[],
 * }} Requirement
 * `onlyFor`: checked only while one of those other requirements is missing (Go is needed only to build).
 */

/** @type {Requirement[]} In install order: Debian packages, then what the scripts build from them. */
export const REQUIREMENTS = [
  {
    id: "redis",
    name: "redis-server",
    present: (m) => m.onPath("redis-server"),
    install: { apt: "redis-server" },
  },
  {
    id: "grpcio",
    name: "Python grpcio (/usr/bin/python3)",
    present: (m) => m.pythonImports("grpc"),
    install: { apt: "python3-grpcio" },
  },
  {
    id: "grpc-tools",
    name: "Python grpc_tools (/usr/bin/python3)",
    present: (m) => m.pythonImports("grpc_tools.protoc"),
    install: { apt: "python3-grpc-tools" },
  },
  {
    id: "grpc-proto",
    name: "gRPC reflection protos (/usr/share/grpc-proto)",
    present: (m) => m.exists(m.system("/usr/share/grpc-proto/grpc/reflection/v1alpha/reflection.proto")),
    install: { apt: "grpc-proto" },
  },
  {
    id: "venv",
    name: "python3 venv (ensurepip)",
    present: (m) => m.pythonImports("ensurepip"),
    install: { apt: "python3-venv" },
  },
  { id: "ip", name: "ip (iproute2)", present: (m) => m.onPath("ip"), install: { apt: "iproute2" } },
  { id: "openssl", name: "openssl", present: (m) => m.onPath("openssl"), install: { apt: "openssl" } },
  {
    id: "postgres",
    name: "PostgreSQL server (initdb, postgres)",
    present: (m) => m.postgresBin() !== undefined,
    install: { apt: "postgresql" },
  },
  {
    id: "go",
    name: `Go >= ${GO_MIN.join(".")} on PATH`,
    present: (m) => m.goAtLeast(GO_MIN),
    install: {
      manual: `install Go ${GO_MIN.join(".")} or newer from https://go.dev/dl/ and put its bin on PATH`,
    },
    onlyFor: ["go-tools", "otelcol"],
  },
  {
    id: "parsl",
    name: `Parsl ${PARSL_VERSION} virtualenv from PyPI`,
    present: (m) => m.exists(join(m.cache, `parsl-venv-${PARSL_VERSION}`, ".complete")),
    install: { script: VENV_SCRIPT, needs: ["venv"] },
  },
  {
    id: "go-tools",
    name: `${GO_TOOLS.join(", ")} for Kubernetes ${K8S_VERSION}`,
    present: (m) => GO_TOOLS.every((tool) => m.executable(join(toolsBin(m.cache), tool))),
    install: { script: BUILD_SCRIPT, needs: ["go"], takes: "about 10 minutes cold on 2 cores" },
  },
  {
    id: "otelcol",
    name: `OpenTelemetry Collector ${OTELCOL_VERSION} (${OTELCOL_BINARY})`,
    present: (m) => m.executable(join(otelcolBin(m.cache), OTELCOL_BINARY)),
    install: { script: OTELCOL_SCRIPT, needs: ["go"], takes: "about 3 minutes cold on 2 cores" },
  },
];
