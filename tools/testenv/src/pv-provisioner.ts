import {
  type CoreV1Api,
  type Informer,
  type KubeConfig,
  makeInformer,
  type V1PersistentVolumeClaim,
} from "@kubernetes/client-node";

/**
 * A minimal volume provisioner: for every Pending PersistentVolumeClaim it creates a hostPath
 * PersistentVolume (pre-bound through claimRef) on the claim's host directory; the real
 * persistentvolume-binder controller then binds the pair, so StatefulSets and `helm --wait` work.
 */
export async function startProvisioner(
  kc: KubeConfig,
  core: CoreV1Api,
  claimDir: (namespace: string, claim: string) => string,
  log: (message: string) => void,
  isStopped: () => boolean,
): Promise<Informer<V1PersistentVolumeClaim>> {
  const provisioned = new Set<string>();
  const provision = async (claim: V1PersistentVolumeClaim) => {
    const uid = claim.metadata?.uid ?? "";
    if (claim.spec?.volumeName || claim.status?.phase !== "Pending" || provisioned.has(uid)) return;
    provisioned.add(uid);
    const namespace = claim.metadata?.namespace ?? "default";
    const name = claim.metadata?.name ?? "";
    try {
      await core.createPersistentVolume({
        body: {
          metadata: { name: `testenv-${uid}`, labels: { "chorus.dev/testenv": "true" } },
          spec: {
            capacity: { storage: claim.spec?.resources?.requests?.storage ?? "1Gi" },
            accessModes: claim.spec?.accessModes ?? ["ReadWriteOnce"],
            volumeMode: claim.spec?.volumeMode ?? "Filesystem",
            storageClassName: claim.spec?.storageClassName ?? "",
            persistentVolumeReclaimPolicy: "Retain",
            hostPath: { path: claimDir(namespace, name), type: "DirectoryOrCreate" },
            claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace, name, uid },
          },
        },
      });
    } catch (err) {
      if ((err as { code?: number }).code !== 409) {
        provisioned.delete(uid);
        log(`provision ${namespace}/${name}: ${(err as Error).message}`);
      }
    }
  };
  const informer = makeInformer<V1PersistentVolumeClaim>(kc, "/api/v1/persistentvolumeclaims", () =>
    core.listPersistentVolumeClaimForAllNamespaces(),
  );
  informer.on("add", (claim) => void provision(claim));
  informer.on("update", (claim) => void provision(claim));
  informer.on("error", (err: unknown) => {
    if (isStopped()) return;
    log(`claim watch: ${(err as Error)?.message ?? err}; restarting`);
    setTimeout(() => {
      if (!isStopped()) void informer.start().catch(() => undefined);
    }, 1000);
  });
  await informer.start();
  return informer;
}
