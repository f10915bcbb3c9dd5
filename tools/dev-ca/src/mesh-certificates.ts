import { X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CertificateAuthority } from "./authority.js";

/** The services of the mesh, each with a certificate of its own. */
export const MESH_SERVICES = ["orchestrator", "agent", "history"] as const;

/** One of the mesh's services. */
export type MeshService = (typeof MESH_SERVICES)[number];

/** The identity (common name and DNS name) each service's certificate carries. */
export type MeshNames = Record<MeshService, string>;

/** The names the mesh checks unless configured otherwise (security.mesh.*_name). */
export const DEFAULT_MESH_NAMES: MeshNames = {
  orchestrator: "chorus-orchestrator",
  agent: "chorus-agent",
  history: "chorus-history",
};

/** Where one identity's files are. */
export interface IdentityFiles {
  readonly ca_file: string;
  readonly cert_file: string;
  readonly key_file: string;
}

/** The CA file and each service's certificate and key files. */
export type MeshFiles = Record<MeshService, IdentityFiles>;

const RENEW_BEFORE_MS = 7 * 86_400_000;

function stillGood(certFile: string): boolean {
  try {
    const cert = new X509Certificate(readFileSync(certFile));
    return Date.parse(cert.validTo) - Date.now() > RENEW_BEFORE_MS;
  } catch {
    return false;
  }
}

function writeSecret(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** The file paths of a mesh's certificates under `dir` (whether or not they exist yet). */
export function meshFiles(dir: string): MeshFiles {
  const entry = (name: string): IdentityFiles => ({
    ca_file: join(dir, "ca.pem"),
    cert_file: join(dir, `${name}.pem`),
    key_file: join(dir, `${name}-key.pem`),
  });
  return Object.fromEntries(MESH_SERVICES.map((service) => [service, entry(service)])) as MeshFiles;
}

function carries(certFile: string, name: string): boolean {
  try {
    return new X509Certificate(readFileSync(certFile)).subject.split("\n").includes(`CN=${name}`);
  } catch {
    return false;
  }
}

/**
 * Makes sure `dir` holds a throwaway CA and a certificate per mesh service carrying its name,
 * valid for loopback; keeps what is there while every file is readable, names the right identity
 * and is more than a week from expiry, else issues all of them anew. Keys get mode 0600.
 */
export async function ensureMeshCertificates(
  dir: string,
  names: MeshNames = DEFAULT_MESH_NAMES,
): Promise<MeshFiles> {
  const files = meshFiles(dir);
  const all = Object.values(files);
  const complete =
    MESH_SERVICES.every((service) => carries(files[service].cert_file, names[service])) &&
    all.every((f) => existsSync(f.key_file) && stillGood(f.cert_file)) &&
    stillGood(files.orchestrator.ca_file);
  if (complete) return files;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await CertificateAuthority.create("Chorus local mesh CA", 365);
  writeSecret(join(dir, "ca-key.pem"), ca.pair.key);
  writeFileSync(join(dir, "ca.pem"), ca.cert);
  for (const service of MESH_SERVICES) {
    const pair = await ca.issue({ name: names[service], dnsNames: ["localhost"], ips: ["127.0.0.1", "::1"] });
    writeFileSync(files[service].cert_file, pair.cert);
    writeSecret(files[service].key_file, pair.key);
  }
  return files;
}
