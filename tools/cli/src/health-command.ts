import { readFileSync } from "node:fs";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "@chorus/proto";
import { type ClientTransport, createClient } from "@chorus/shared";
import { credentials } from "@grpc/grpc-js";
import { reportError } from "./client-commands.js";

const HEALTH_USAGE =
  "usage: chorus health HOST:PORT [HOST:PORT ...] [--service NAME] " +
  "[--tls] [--cacert FILE] [--cert FILE --key FILE] [--server-name NAME]";

/** How `chorus health` reaches the addresses: plaintext, or TLS from these flags. */
export interface HealthTls {
  /** TLS, trusting the system's CAs unless `cacert` names a CA file. */
  readonly tls?: boolean | undefined;
  /** PEM CA the servers' certificates must chain to (implies TLS). */
  readonly cacert?: string | undefined;
  /** PEM client certificate and key, for servers that require one (mTLS; implies TLS). */
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  /** The name the servers' certificates must carry, when it is not the host dialled (implies TLS). */
  readonly serverName?: string | undefined;
}

function read(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`--${flag} ${path}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** The transport the flags ask for; undefined (plaintext) when they name no TLS. Throws on a bad flag. */
export function healthTransport(flags: HealthTls): ClientTransport | undefined {
  if (!flags.tls && !flags.cacert && !flags.cert && !flags.key && !flags.serverName) return undefined;
  if (Boolean(flags.cert) !== Boolean(flags.key)) throw new Error("--cert and --key go together");
  return {
    credentials: credentials.createSsl(
      flags.cacert ? read("cacert", flags.cacert) : null,
      flags.key ? read("key", flags.key) : null,
      flags.cert ? read("cert", flags.cert) : null,
    ),
    channelOptions: flags.serverName ? { "grpc.ssl_target_name_override": flags.serverName } : {},
  };
}

/** `chorus health ADDRESS...`: checks grpc.health.v1 on each address; exit 0 only if all are SERVING. */
export async function healthCommand(
  addresses: readonly string[],
  service: string,
  tls: HealthTls = {},
  timeoutMs = 5000,
): Promise<number> {
  if (addresses.length === 0) {
    process.stderr.write(`${HEALTH_USAGE}\n`);
    return 2;
  }
  let transport: ClientTransport | undefined;
  try {
    transport = healthTransport(tls);
  } catch (err) {
    process.stderr.write(`chorus health: ${(err as Error).message}\n${HEALTH_USAGE}\n`);
    return 2;
  }
  let failures = 0;
  for (const address of addresses) {
    const client = createClient(Health, address, {}, transport);
    try {
      const response = await client.check({ service }, { deadline: new Date(Date.now() + timeoutMs) });
      const state = Serving[response.status] ?? String(response.status);
      process.stdout.write(`${address} ${state}\n`);
      if (response.status !== Serving.SERVING) failures += 1;
    } catch (err) {
      reportError(err, address);
      failures += 1;
    } finally {
      client.close();
    }
  }
  return failures === 0 ? 0 : 1;
}
