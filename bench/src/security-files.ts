import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CertificateAuthority } from "@chorus/dev-ca";
import { hashSecret, keyEntryYaml, newApiKey } from "@chorus/orchestrator/keys";

/** What a secured public port needs, as files, and what its callers need. */
export interface PublicSecurityFiles {
  /** The CA the public certificate chains to (PEM): what callers trust. */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** An API keys file with one key. */
  readonly keysFile: string;
  /** That key, which callers send as `authorization: Bearer <key>`. */
  readonly apiKey: string;
  /** The DNS name the certificate is for (it also carries 127.0.0.1). */
  readonly serverName: string;
}

/** The principal the bench's API key stands for, with the role `Chat` needs. */
export const BENCH_PRINCIPAL = { principal: "bench", roles: ["user" as const] };

/**
 * Writes into `dir` a CA, a server certificate for 127.0.0.1 and localhost signed by it, and a keys
 * file with one new API key, the way an operator would set up the public port.
 */
export async function writePublicSecurityFiles(dir: string): Promise<PublicSecurityFiles> {
  const ca = await CertificateAuthority.create("chorus bench public CA");
  const serverName = "localhost";
  const server = await ca.issue({ name: serverName, ips: ["127.0.0.1"], usage: "server" });
  const files = {
    caFile: join(dir, "public-ca.pem"),
    certFile: join(dir, "public.pem"),
    keyFile: join(dir, "public-key.pem"),
    keysFile: join(dir, "keys.yaml"),
  };
  writeFileSync(files.caFile, ca.cert);
  writeFileSync(files.certFile, server.cert);
  writeFileSync(files.keyFile, server.key, { mode: 0o600 });
  const key = newApiKey();
  const entry = keyEntryYaml({ id: key.id, hash: hashSecret(key.secret), ...BENCH_PRINCIPAL });
  writeFileSync(files.keysFile, `keys:\n${entry}\n`, { mode: 0o600 });
  return { ...files, apiKey: key.key, serverName };
}
