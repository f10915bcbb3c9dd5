import { readFileSync } from "node:fs";
import type { DescService } from "@bufbuild/protobuf";
import { type ClientTransport, createClient, type PromiseClient, type RpcOptions } from "@chorus/shared";
import { credentials } from "@grpc/grpc-js";

/** TLS flags of the client commands (`--tls`, `--cacert`, `--cert`/`--key`, `--server-name`). */
export interface TlsFlags {
  /** TLS, trusting the system's CAs unless `cacert` names a CA file. */
  readonly tls?: boolean | undefined;
  /** PEM CA the server's certificate must chain to (implies TLS). */
  readonly cacert?: string | undefined;
  /** PEM client certificate and key, for servers that require one (mTLS; implies TLS). */
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  /** The name the server's certificate must carry, when it is not the host dialled (implies TLS). */
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
export function tlsTransport(flags: TlsFlags): ClientTransport | undefined {
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

/** Where a client command sends its calls, and with which transport and credentials. */
export interface Target {
  readonly address: string;
  /** A client whose every call carries the API key (if any). */
  open<S extends DescService>(service: S): PromiseClient<S>;
}

/**
 * The orchestrator at `address`, over TLS when the flags (or $CHORUS_CACERT) say so, sending
 * $CHORUS_API_KEY as `authorization: Bearer …` — from the environment only, so the key never
 * shows in a process listing or the shell's history.
 */
export function targetOf(address: string, flags: TlsFlags, env: NodeJS.ProcessEnv = process.env): Target {
  const transport = tlsTransport({ ...flags, cacert: flags.cacert ?? (env.CHORUS_CACERT || undefined) });
  const key = env.CHORUS_API_KEY;
  const metadata: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  return {
    address,
    open(service) {
      const client = createClient(service, address, {}, transport);
      if (!key) return client;
      const methods = client as unknown as Record<string, unknown>;
      for (const method of service.methods) {
        const call = methods[method.localName] as (request: unknown, options?: RpcOptions) => unknown;
        methods[method.localName] = (request: unknown, options?: RpcOptions) =>
          call(request, { ...options, metadata: { ...metadata, ...options?.metadata } });
      }
      return client;
    },
  };
}
