import { release } from "node:os";
import {
  type CoordinationV1Api,
  type CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Node,
} from "@kubernetes/client-node";
import { K8S_VERSION } from "./binaries.js";

const MERGE = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const LEASE_NAMESPACE = "kube-node-lease";

/** RFC 3339 with microseconds, the format of metav1.MicroTime. */
export function microTime(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Creates (or updates) the Node, marks it Ready, and creates its Lease. */
export async function registerNode(
  core: CoreV1Api,
  coordination: CoordinationV1Api,
  name: string,
  subnet: { readonly gateway: string; readonly cidr: string },
): Promise<void> {
  const node: V1Node = {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": "chorus-testenv",
      },
    },
    spec: { podCIDR: subnet.cidr, podCIDRs: [subnet.cidr] },
  };
  let uid: string | undefined;
  try {
    uid = (await core.createNode({ body: node })).metadata?.uid;
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
    uid = (await core.readNode({ name })).metadata?.uid;
  }
  const time = new Date().toISOString();
  const resources = { cpu: "2", memory: "24Gi", pods: "110", "ephemeral-storage": "50Gi" };
  await core.patchNodeStatus(
    {
      name,
      body: {
        status: {
          capacity: resources,
          allocatable: resources,
          addresses: [
            { type: "InternalIP", address: subnet.gateway },
            { type: "Hostname", address: name },
          ],
          conditions: [
            {
              type: "Ready",
              status: "True",
              reason: "KubeletReady",
              message: "chorus test kubelet is posting ready status",
              lastHeartbeatTime: time,
              lastTransitionTime: time,
            },
          ],
          nodeInfo: {
            machineID: "chorus-testenv",
            systemUUID: "chorus-testenv",
            bootID: "chorus-testenv",
            kernelVersion: release(),
            osImage: "chorus testenv",
            containerRuntimeVersion: "testenv://1.0.0",
            kubeletVersion: `v${K8S_VERSION}`,
            kubeProxyVersion: "",
            operatingSystem: "linux",
            architecture: "amd64",
          },
        },
      },
    },
    MERGE,
  );
  try {
    await coordination.createNamespacedLease({
      namespace: LEASE_NAMESPACE,
      body: {
        metadata: {
          name,
          namespace: LEASE_NAMESPACE,
          ownerReferences: uid ? [{ apiVersion: "v1", kind: "Node", name, uid }] : [],
        },
        spec: { holderIdentity: name, leaseDurationSeconds: 40 },
      },
    });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
  await renewLease(coordination, name);
}

/** Sets the node Lease's renewTime to now. */
export async function renewLease(coordination: CoordinationV1Api, name: string): Promise<void> {
  await coordination.patchNamespacedLease(
    { name, namespace: LEASE_NAMESPACE, body: { spec: { renewTime: microTime() } } },
    MERGE,
  );
}
