import { parse } from "yaml";
import type { Manifest } from "./helm.js";

/**
 * Keys of config/chorus.yaml that the chart decides (addresses, ports, paths, provider names, the
 * certificate and keys files it mounts from Secrets, and heap_mb: in a pod Node takes the heap
 * ceiling from the container's memory limit). The values schema leaves them out of `config:`, and
 * templates/_config.tpl writes them into each pod's file.
 */
export const CHART_SET_KEYS: readonly string[] = [
  "orchestrator.host",
  "orchestrator.port",
  "orchestrator.metrics_port",
  "provider.kind",
  "provider.kubernetes.namespace",
  "provider.kubernetes.kubeconfig",
  "provider.kubernetes.deployment_template",
  "provider.kubernetes.service_template",
  "provider.kubernetes.agent_port_name",
  "provider.kubernetes.lease_name",
  "history.host",
  "history.port",
  "history.metrics_port",
  "history.address",
  "history.addresses",
  "history.path",
  "history.postgres.url_file",
  "llm.base_url",
  "simulator.host",
  "simulator.port",
  "redis.url",
  "limits.heap_mb",
  "security.tls.cert_file",
  "security.tls.key_file",
  "security.tls.client_ca_file",
  "security.mesh.mode",
  "security.mesh.dir",
  "security.mesh.ca_file",
  "security.mesh.cert_file",
  "security.mesh.key_file",
  "security.auth.keys_file",
];

/**
 * Keys of config/chorus.yaml that only `chorus up` reads (its supervisor: in Kubernetes the kubelet
 * restarts pods). The chart neither takes them as values nor writes them into a pod's file.
 */
export const LOCAL_ONLY_KEYS: readonly string[] = [
  "supervisor.restart_backoff_ms",
  "supervisor.max_restart_backoff_ms",
  "supervisor.crash_loop_restarts",
  "supervisor.crash_loop_window_seconds",
  // The local provider's caps on agent processes per host; on Kubernetes the scheduler places pods.
  "provider.local.max_agent_blocks",
  "provider.local.max_cpu_busy",
];

/** Flattens nested mappings into dotted keys; lists (config.agents) stay whole values. */
export function flatten(value: unknown, prefix = ""): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) {
      for (const [k, v] of flatten(child, prefix ? `${prefix}.${key}` : key)) out.set(k, v);
    }
  } else {
    out.set(prefix, value);
  }
  return out;
}

/** Each pod's config file (the `chorus.yaml` of every ConfigMap) in a render, flattened. */
export function renderedConfigFiles(manifests: readonly Manifest[]): Map<string, Map<string, unknown>> {
  return new Map(
    manifests
      .filter((m) => m.kind === "ConfigMap" && typeof m.data?.["chorus.yaml"] === "string")
      .map((m) => [m.metadata.name, flatten(parse(m.data["chorus.yaml"]))]),
  );
}

/**
 * Where the chart's templates and CHART_SET_KEYS disagree, one line each: a key a pod's file
 * holds that is neither values.config's (with its value) nor listed, or a listed key no file holds.
 */
export function chartSetKeyProblems(manifests: readonly Manifest[], valuesConfig: unknown): string[] {
  const values = flatten(valuesConfig);
  const problems: string[] = [];
  const written = new Set<string>();
  for (const [file, keys] of renderedConfigFiles(manifests)) {
    for (const [key, value] of keys) {
      written.add(key);
      if (CHART_SET_KEYS.includes(key)) continue;
      if (!values.has(key))
        problems.push(`${file}: the chart writes ${key}, which CHART_SET_KEYS does not list`);
      else if (key !== "agents" && JSON.stringify(values.get(key)) !== JSON.stringify(value))
        problems.push(`${file}: the chart overrides ${key}, which CHART_SET_KEYS does not list`);
    }
  }
  for (const key of CHART_SET_KEYS)
    if (!written.has(key)) problems.push(`CHART_SET_KEYS lists ${key}, which no pod's config file holds`);
  return problems;
}
