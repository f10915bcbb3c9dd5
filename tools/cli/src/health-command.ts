import { Health, HealthCheckResponse_ServingStatus as Serving } from "@chorus/proto";
import { type ClientTransport, createClient } from "@chorus/shared";
import { reportError } from "./client-commands.js";
import { type TlsFlags, tlsTransport } from "./connection.js";

const HEALTH_USAGE =
  "usage: chorus health HOST:PORT [HOST:PORT ...] [--service NAME] " +
  "[--tls] [--cacert FILE] [--cert FILE --key FILE] [--server-name NAME]";

/** `chorus health ADDRESS...`: checks grpc.health.v1 on each address; exit 0 only if all are SERVING. */
export async function healthCommand(
  addresses: readonly string[],
  service: string,
  tls: TlsFlags = {},
  timeoutMs = 5000,
): Promise<number> {
  if (addresses.length === 0) {
    process.stderr.write(`${HEALTH_USAGE}\n`);
    return 2;
  }
  let transport: ClientTransport | undefined;
  try {
    transport = tlsTransport(tls);
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
