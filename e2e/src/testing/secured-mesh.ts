import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import { type ChorusUp, startChorusUp } from "@chorus/cli/testing";
import { CertificateAuthority } from "@chorus/dev-ca";
import { hashSecret, keyEntryYaml, newApiKey } from "@chorus/orchestrator/keys";
import { createClient, type PromiseClient, type Role, watchedChannelCredentials } from "@chorus/shared";
import { CACHING_AGENTS } from "./caching-agents.js";

/** The principals the secured mesh issues keys to, with their roles. */
export const PRINCIPALS = {
  alice: ["user"],
  bob: ["user"],
  ops: ["operator"],
  root: ["admin"],
  capped: ["user"],
} as const satisfies Record<string, readonly Role[]>;

/** The model API key the mesh is given; it must never show up anywhere a caller or operator can read. */
export const MODEL_API_KEY = "sk-e2e-MODEL-KEY-never-to-be-seen";

/** Limits set on a principal's own key. */
const KEY_LIMITS: Partial<Record<PrincipalName, { requests_per_minute: number }>> = {
  capped: { requests_per_minute: 2 },
};

/** One of those principals. */
export type PrincipalName = keyof typeof PRINCIPALS;

/** `chorus up` with TLS on the public port and API keys, and the credentials to call it. */
export interface SecuredMesh {
  readonly chorus: ChorusUp;
  /** The CA the public port's certificate chains to (PEM file). */
  readonly caFile: string;
  /** Each principal's API key. */
  readonly keys: Record<PrincipalName, string>;
  /** A TLS client for `service` that sends `who`'s key on every call made through `as(who)`. */
  client<S extends DescService>(service: S): PromiseClient<S>;
  /** Per-call options carrying `who`'s key, with a deadline. */
  as(who: PrincipalName): { deadline: Date; metadata: Record<string, string> };
  stop(): Promise<void>;
}

/** Starts `chorus up` (mesh mTLS by default) with a TLS public port and a keys file of PRINCIPALS. */
export async function startSecuredMesh(): Promise<SecuredMesh> {
  const dir = mkdtempSync(join(tmpdir(), "chorus-secured-"));
  const ca = await CertificateAuthority.create("e2e public CA");
  const server = await ca.issue({ name: "localhost", ips: ["127.0.0.1"], usage: "server" });
  const caFile = join(dir, "public-ca.pem");
  const certFile = join(dir, "public.pem");
  const keyFile = join(dir, "public-key.pem");
  writeFileSync(caFile, ca.cert);
  writeFileSync(certFile, server.cert);
  writeFileSync(keyFile, server.key, { mode: 0o600 });
  const keys = {} as Record<PrincipalName, string>;
  const entries: string[] = [];
  for (const [principal, roles] of Object.entries(PRINCIPALS) as [PrincipalName, readonly Role[]][]) {
    const key = newApiKey();
    keys[principal] = key.key;
    const limits = KEY_LIMITS[principal];
    entries.push(
      keyEntryYaml({ id: key.id, hash: hashSecret(key.secret), principal, roles: [...roles], limits }),
    );
  }
  const keysFile = join(dir, "keys.yaml");
  writeFileSync(keysFile, `keys:\n${entries.join("\n")}\n`, { mode: 0o600 });
  const chorus = await startChorusUp(
    {
      security: { tls: { cert_file: certFile, key_file: keyFile }, auth: { keys_file: keysFile } },
      // The isolation tests check whose cached answers a principal may get.
      agents: CACHING_AGENTS,
    },
    { LOG_LEVEL: "info", OPENAI_API_KEY: MODEL_API_KEY },
  );
  const transport = watchedChannelCredentials({ ca_file: caFile }, undefined, 60_000);
  const clients: { close(): void }[] = [];
  return {
    chorus,
    caFile,
    keys,
    client(service) {
      const client = createClient(service, chorus.address, {}, transport);
      clients.push(client);
      return client;
    },
    as: (who) => ({
      deadline: new Date(Date.now() + 20_000),
      metadata: { authorization: `Bearer ${keys[who]}` },
    }),
    async stop() {
      for (const client of clients) client.close();
      await chorus.stop();
    },
  };
}
