import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Paths of the PKI files that `makePki` writes. */
export interface Pki {
  readonly caCert: string;
  readonly caKey: string;
  readonly servingCert: string;
  readonly servingKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  /** Service-account token signing key (private) and its public half. */
  readonly saKey: string;
  readonly saPub: string;
}

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function ecKey(path: string): void {
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path]);
}

/** Signs a certificate for `subject` with the CA, with the given extensions. */
function signed(
  dir: string,
  name: string,
  subject: string,
  extensions: string[],
  caCert: string,
  caKey: string,
) {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  const cert = join(dir, `${name}.crt`);
  ecKey(key);
  openssl(["req", "-new", "-key", key, "-subj", subject, "-out", csr]);
  writeFileSync(ext, `${extensions.join("\n")}\n`);
  openssl(
    ["x509", "-req", "-in", csr, "-CA", caCert, "-CAkey", caKey, "-CAcreateserial", "-days", "30"].concat([
      "-extfile",
      ext,
      "-out",
      cert,
    ]),
  );
  return { cert, key };
}

/** Writes a CA, an apiserver serving cert for `ips`, an admin client cert and an SA key pair. */
export function makePki(dir: string, ips: readonly string[]): Pki {
  const caKey = join(dir, "ca.key");
  const caCert = join(dir, "ca.crt");
  ecKey(caKey);
  openssl(
    ["req", "-x509", "-new", "-key", caKey, "-subj", "/CN=chorus-testenv-ca", "-days", "30"].concat([
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
      "-out",
      caCert,
    ]),
  );
  const sans = [
    ...ips.map((ip) => `IP:${ip}`),
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
  ];
  const serving = signed(
    dir,
    "apiserver",
    "/CN=kube-apiserver",
    [
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      `subjectAltName=${sans.join(",")}`,
    ],
    caCert,
    caKey,
  );
  const admin = signed(
    dir,
    "admin",
    "/O=system:masters/CN=chorus-testenv-admin",
    ["keyUsage=critical,digitalSignature,keyEncipherment", "extendedKeyUsage=clientAuth"],
    caCert,
    caKey,
  );
  const saKey = join(dir, "sa.key");
  const saPub = join(dir, "sa.pub");
  ecKey(saKey);
  openssl(["pkey", "-in", saKey, "-pubout", "-out", saPub]);
  return {
    caCert,
    caKey,
    servingCert: serving.cert,
    servingKey: serving.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    saKey,
    saPub,
  };
}

/** A kubeconfig for `server` using either a client cert or a bearer token. */
export function kubeconfigYaml(
  server: string,
  caCertPath: string,
  user: { certPath: string; keyPath: string } | { token: string },
  name = "chorus-testenv",
): string {
  const b64 = (path: string) => readFileSync(path).toString("base64");
  const userLines =
    "token" in user
      ? [`    token: ${user.token}`]
      : [`    client-certificate-data: ${b64(user.certPath)}`, `    client-key-data: ${b64(user.keyPath)}`];
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: ${name}`,
    "  cluster:",
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(caCertPath)}`,
    "users:",
    `- name: ${name}`,
    "  user:",
    ...userLines,
    "contexts:",
    `- name: ${name}`,
    "  context:",
    `    cluster: ${name}`,
    `    user: ${name}`,
    "    namespace: default",
    `current-context: ${name}`,
    "",
  ].join("\n");
}
