import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { V1Container, V1EnvVar, V1ObjectFieldSelector, V1Pod, V1Volume } from "@kubernetes/client-node";

/** What a pod's env and volumes read from the API (ConfigMaps, Secrets, a service-account token). */
export interface PodSources {
  configMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** Secret data, already base64-decoded. */
  secret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** A token for the pod's ServiceAccount, bound to the pod. */
  serviceAccountToken(pod: V1Pod, expirationSeconds: number | undefined): Promise<string>;
  /** The cluster CA certificate (PEM), for kube-root-ca.crt. */
  readonly caCert: string;
}

/** Thrown when a pod references something that does not exist (yet); the kubelet retries. */
export class ConfigError extends Error {}

/** Reads `metadata.name`, `status.podIP`, `metadata.labels['x']`, … from a pod. */
export function fieldValue(pod: V1Pod, podIp: string, hostIp: string, ref: V1ObjectFieldSelector): string {
  const path = ref.fieldPath;
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (keyed) {
    const map = keyed[1] === "labels" ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[keyed[2] ?? ""] ?? "";
  }
  const values: Record<string, string | undefined> = {
    "metadata.name": pod.metadata?.name,
    "metadata.namespace": pod.metadata?.namespace,
    "metadata.uid": pod.metadata?.uid,
    "spec.nodeName": pod.spec?.nodeName,
    "spec.serviceAccountName": pod.spec?.serviceAccountName,
    "status.podIP": podIp,
    "status.podIPs": podIp,
    "status.hostIP": hostIp,
    "status.hostIPs": hostIp,
  };
  if (!(path in values)) throw new ConfigError(`unsupported fieldRef ${path}`);
  return values[path] ?? "";
}

async function keyOf(
  what: "configMap" | "secret",
  sources: PodSources,
  namespace: string,
  ref: { name?: string; key: string; optional?: boolean },
): Promise<string | undefined> {
  const data = await sources[what](namespace, ref.name ?? "");
  const value = data?.[ref.key];
  if (value === undefined && !ref.optional)
    throw new ConfigError(`${what} ${ref.name} key ${ref.key} not found`);
  return value;
}

/** Expands `$(VAR)` references (and `$$` escapes) the way the kubelet does. */
export function expand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === "$$") return "$";
    return name !== undefined && name in env ? (env[name] ?? "") : match;
  });
}

/** The container's environment: envFrom, then env (values, ConfigMap/Secret keys, fieldRefs). */
export async function containerEnv(
  pod: V1Pod,
  container: V1Container,
  podIp: string,
  hostIp: string,
  sources: PodSources,
): Promise<Record<string, string>> {
  const namespace = pod.metadata?.namespace ?? "default";
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const data = from.configMapRef
      ? await sources.configMap(namespace, ref?.name ?? "")
      : await sources.secret(namespace, ref?.name ?? "");
    if (!data && !ref?.optional) throw new ConfigError(`envFrom ${ref?.name} not found`);
    for (const [key, value] of Object.entries(data ?? {})) env[`${from.prefix ?? ""}${key}`] = value;
  }
  for (const variable of container.env ?? []) {
    const value = await envValue(pod, variable, podIp, hostIp, sources, namespace, env);
    if (value !== undefined) env[variable.name] = value;
  }
  return env;
}

async function envValue(
  pod: V1Pod,
  variable: V1EnvVar,
  podIp: string,
  hostIp: string,
  sources: PodSources,
  namespace: string,
  env: Record<string, string>,
): Promise<string | undefined> {
  const from = variable.valueFrom;
  if (!from) return expand(variable.value ?? "", env);
  if (from.fieldRef) return fieldValue(pod, podIp, hostIp, from.fieldRef);
  if (from.configMapKeyRef) return keyOf("configMap", sources, namespace, from.configMapKeyRef);
  if (from.secretKeyRef) return keyOf("secret", sources, namespace, from.secretKeyRef);
  if (from.resourceFieldRef) return "0"; // no resource accounting in the test kubelet
  throw new ConfigError(`unsupported valueFrom for ${variable.name}`);
}

function writeFiles(dir: string, files: Record<string, string>, mode: number | undefined): void {
  mkdirSync(dir, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
    if (mode !== undefined) chmodSync(file, mode);
  }
}

function pick(
  data: Record<string, string>,
  items: { key: string; path: string }[] | undefined,
): Record<string, string> {
  if (!items) return { ...data };
  return Object.fromEntries(
    items.filter((item) => item.key in data).map((item) => [item.path, data[item.key] ?? ""]),
  );
}

function mapValues(files: Record<string, string>, f: (text: string) => string): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([path, text]) => [path, f(text)]));
}

/**
 * Materialises one volume as a host directory and returns it (ConfigMap, Secret, emptyDir, projected,
 * PVC). `configText` rewrites the text of each ConfigMap file (the kubelet maps mount paths in it).
 */
export async function writeVolume(
  pod: V1Pod,
  volume: V1Volume,
  dir: string,
  podIp: string,
  hostIp: string,
  sources: PodSources,
  claimDir: (claim: string) => string,
  configText: (text: string) => string = (text) => text,
): Promise<string> {
  const namespace = pod.metadata?.namespace ?? "default";
  if (volume.persistentVolumeClaim) return claimDir(volume.persistentVolumeClaim.claimName);
  mkdirSync(dir, { recursive: true });
  if (volume.configMap) {
    const data = await sources.configMap(namespace, volume.configMap.name ?? "");
    if (!data && !volume.configMap.optional)
      throw new ConfigError(`configMap ${volume.configMap.name} not found`);
    writeFiles(
      dir,
      mapValues(pick(data ?? {}, volume.configMap.items), configText),
      volume.configMap.defaultMode,
    );
  } else if (volume.secret) {
    const data = await sources.secret(namespace, volume.secret.secretName ?? "");
    if (!data && !volume.secret.optional)
      throw new ConfigError(`secret ${volume.secret.secretName} not found`);
    writeFiles(dir, pick(data ?? {}, volume.secret.items), volume.secret.defaultMode);
  } else if (volume.projected) {
    for (const source of volume.projected.sources ?? []) {
      if (source.serviceAccountToken) {
        const token = await sources.serviceAccountToken(pod, source.serviceAccountToken.expirationSeconds);
        writeFiles(dir, { [source.serviceAccountToken.path]: token }, undefined);
      } else if (source.configMap) {
        const data =
          source.configMap.name === "kube-root-ca.crt"
            ? { "ca.crt": sources.caCert }
            : mapValues((await sources.configMap(namespace, source.configMap.name ?? "")) ?? {}, configText);
        writeFiles(dir, pick(data ?? {}, source.configMap.items), undefined);
      } else if (source.secret) {
        const data = await sources.secret(namespace, source.secret.name ?? "");
        writeFiles(dir, pick(data ?? {}, source.secret.items), undefined);
      } else if (source.downwardAPI) {
        const files: Record<string, string> = {};
        for (const item of source.downwardAPI.items ?? []) {
          if (item.fieldRef) files[item.path] = fieldValue(pod, podIp, hostIp, item.fieldRef);
        }
        writeFiles(dir, files, undefined);
      }
    }
  } else if (volume.downwardAPI) {
    const files: Record<string, string> = {};
    for (const item of volume.downwardAPI.items ?? []) {
      if (item.fieldRef) files[item.path] = fieldValue(pod, podIp, hostIp, item.fieldRef);
    }
    writeFiles(dir, files, volume.downwardAPI.defaultMode);
  }
  // emptyDir and anything else: an empty directory.
  return dir;
}

/**
 * Rewrites container paths to host paths: every occurrence of a mount path (as a whole path
 * prefix) in `text` becomes the volume's host directory. Longest mount paths win.
 */
export function rewritePaths(text: string, mounts: ReadonlyMap<string, string>): string {
  const ordered = [...mounts.entries()].sort((a, b) => b[0].length - a[0].length);
  if (ordered.length === 0) return text;
  const quote = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(
    `(^|[\\s=:,'"])(${ordered.map(([path]) => quote(path.replace(/\/+$/, ""))).join("|")})(?=$|[/\\s,'"])`,
    "g",
  );
  return text.replace(
    pattern,
    (_m, lead: string, path: string) => `${lead}${mounts.get(path) ?? mounts.get(`${path}/`) ?? path}`,
  );
}
