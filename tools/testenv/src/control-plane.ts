import { readFileSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request } from "node:https";
import { join } from "node:path";
import { kubeconfigYaml, makePki, type Pki } from "./certs.js";
import { freePort, type Started, startProcess, stopProcess, waitFor } from "./processes.js";

/** Controllers the controller manager runs (no node lifecycle, no scheduler: the test kubelet binds). */
export const CONTROLLERS = [
  "deployment",
  "replicaset",
  "statefulset",
  "endpointslice",
  "garbagecollector",
  "namespace",
  "serviceaccount",
  "serviceaccount-token",
  "root-ca-cert-publisher",
  "podgc",
  "persistentvolume-binder",
];

/** A running etcd + kube-apiserver + kube-controller-manager on loopback. */
export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  readonly apiserverPort: number;
  /** Admin kubeconfig (client cert in group system:masters). */
  readonly kubeconfig: string;
  readonly pki: Pki;
  readonly processes: readonly Started[];
  stop(): Promise<void>;
}

function get(url: string, pki: Pki | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const options = pki
      ? { ca: readFileSync(pki.caCert), cert: readFileSync(pki.adminCert), key: readFileSync(pki.adminKey) }
      : {};
    const req = (pki ? request : httpRequest)(url, { ...options, timeout: 2000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

function failed(p: Started): string {
  let tail = "";
  try {
    tail = readFileSync(p.log, "utf8").split("\n").slice(-15).join("\n");
  } catch {
    // no log
  }
  return `${p.name} exited early; last log lines (${p.log}):\n${tail}`;
}

async function waitHealthy(p: Started, what: string, check: () => Promise<boolean>, timeoutMs: number) {
  let exited = false;
  void p.exited.then(() => {
    exited = true;
  });
  await waitFor(
    what,
    async () => {
      if (exited) throw new Error(failed(p));
      return (await check()) ? true : undefined;
    },
    timeoutMs,
    250,
  ).catch((err: Error) => {
    throw exited ? new Error(`testenv: ${failed(p)}`) : err;
  });
}

/** Starts etcd, kube-apiserver (RBAC) and kube-controller-manager with state under `dir`. */
export async function startControlPlane(
  bin: string,
  dir: string,
  network: { readonly extraIps: readonly string[]; readonly serviceCidr: string },
  timeoutMs = 90_000,
): Promise<ControlPlane> {
  const processes: Started[] = [];
  const stop = async () => {
    for (const p of [...processes].reverse()) await stopProcess(p, 10_000);
  };
  try {
    const pki = makePki(dir, ["127.0.0.1", ...network.extraIps]);
    const etcdPort = await freePort();
    const peerPort = await freePort();
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcd = startProcess(
      "etcd",
      join(bin, "etcd"),
      [
        "--name=testenv",
        `--data-dir=${join(dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=testenv=http://127.0.0.1:${peerPort}`,
        "--unsafe-no-fsync",
        "--log-level=warn",
      ],
      join(dir, "etcd.log"),
    );
    processes.push(etcd);
    await waitHealthy(
      etcd,
      "etcd /health",
      async () => (await get(`${etcdUrl}/health`, undefined)).body.includes('"true"'),
      timeoutMs,
    );

    const apiPort = await freePort();
    const server = `https://127.0.0.1:${apiPort}`;
    const apiserver = startProcess(
      "kube-apiserver",
      join(bin, "kube-apiserver"),
      [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${apiPort}`,
        "--advertise-address=127.0.0.1",
        "--endpoint-reconciler-type=none",
        "--authorization-mode=RBAC",
        `--client-ca-file=${pki.caCert}`,
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`,
        `--service-cluster-ip-range=${network.serviceCidr}`,
        "--allow-privileged=true",
        `--cert-dir=${join(dir, "apiserver-certs")}`,
        "--profiling=false",
        "--v=1",
      ],
      join(dir, "kube-apiserver.log"),
    );
    processes.push(apiserver);
    await waitHealthy(
      apiserver,
      "kube-apiserver /readyz",
      async () => (await get(`${server}/readyz`, pki)).status === 200,
      timeoutMs,
    );

    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(
      kubeconfig,
      kubeconfigYaml(server, pki.caCert, { certPath: pki.adminCert, keyPath: pki.adminKey }),
      {
        mode: 0o600,
      },
    );
    const cm = startProcess(
      "kube-controller-manager",
      join(bin, "kube-controller-manager"),
      [
        `--kubeconfig=${kubeconfig}`,
        "--leader-elect=false",
        `--controllers=${CONTROLLERS.join(",")}`,
        "--secure-port=0",
        `--service-account-private-key-file=${pki.saKey}`,
        `--root-ca-file=${pki.caCert}`,
        "--concurrent-deployment-syncs=2",
        "--v=1",
      ],
      join(dir, "kube-controller-manager.log"),
    );
    processes.push(cm);
    // The default ServiceAccount appears once the controllers run; pods need it to be admitted.
    await waitHealthy(
      cm,
      "the default ServiceAccount (kube-controller-manager running)",
      async () =>
        (await get(`${server}/api/v1/namespaces/default/serviceaccounts/default`, pki)).status === 200,
      timeoutMs,
    );
    return { server, apiserverPort: apiPort, kubeconfig, pki, processes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
