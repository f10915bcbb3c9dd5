import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import { kubeconfigYaml } from "./certs.js";
import { writeInto } from "./pod-runtime.js";
import type { PodSources } from "./pod-spec.js";

const AUDIENCE = "https://kubernetes.default.svc.cluster.local";

/** PodSources read from the API: ConfigMaps, Secrets (decoded) and bound ServiceAccount tokens. */
export function apiSources(core: CoreV1Api, caCertPem: string): PodSources {
  const missing = (err: unknown) => {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  };
  const decode = (data: Record<string, string>) =>
    Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
  return {
    caCert: caCertPem,
    configMap: (namespace, name) =>
      core.readNamespacedConfigMap({ name, namespace }).then((cm) => ({ ...(cm.data ?? {}) }), missing),
    secret: (namespace, name) =>
      core.readNamespacedSecret({ name, namespace }).then((secret) => decode(secret.data ?? {}), missing),
    serviceAccountToken: async (pod, expirationSeconds) => {
      const request = await core.createNamespacedServiceAccountToken({
        name: pod.spec?.serviceAccountName ?? "default",
        namespace: pod.metadata?.namespace ?? "default",
        body: {
          spec: {
            audiences: [AUDIENCE],
            expirationSeconds: Math.max(expirationSeconds ?? 3600, 3600),
            boundObjectRef: {
              apiVersion: "v1",
              kind: "Pod",
              name: pod.metadata?.name,
              uid: pod.metadata?.uid,
            },
          },
        },
      });
      return request.status?.token ?? "";
    },
  };
}

/**
 * Writes a kubeconfig holding a token of the pod's ServiceAccount, when the pod has a token
 * mounted (the ServiceAccount admission plugin adds one unless automount is off).
 */
export async function writePodKubeconfig(
  sources: PodSources,
  pod: V1Pod,
  dir: string,
  server: string,
): Promise<string | undefined> {
  const mounted = pod.spec?.volumes?.some((v) => v.projected?.sources?.some((s) => s.serviceAccountToken));
  if (pod.spec?.automountServiceAccountToken === false || !mounted) return undefined;
  const token = await sources.serviceAccountToken(pod, 3600);
  const ca = writeInto(dir, "ca.crt", sources.caCert);
  return writeInto(dir, "kubeconfig", kubeconfigYaml(server, ca, { token }));
}
