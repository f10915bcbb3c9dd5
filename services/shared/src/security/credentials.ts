import { readFileSync } from "node:fs";
import {
  type ChannelCredentials,
  type ChannelOptions,
  credentials,
  experimental,
  ServerCredentials,
} from "@grpc/grpc-js";
import { FileCertificateProvider } from "./file-certificates.js";

/** A certificate, its key and the CA that peers' certificates must chain to, as file paths. */
export interface TlsFiles {
  readonly cert_file: string;
  readonly key_file: string;
  /** Empty: peers are not asked for certificates (server) / the system roots are trusted (client). */
  readonly ca_file: string;
}

/** Whether a TLS server asks callers for a certificate, and whether it insists. */
export type ClientAuth = "none" | "optional" | "require";

function provider(files: Partial<TlsFiles>, refreshMs: number): FileCertificateProvider {
  return new FileCertificateProvider(
    {
      certFile: files.cert_file || undefined,
      keyFile: files.key_file || undefined,
      caFile: files.ca_file || undefined,
    },
    refreshMs,
  );
}

function mustRead(path: string, what: string): void {
  try {
    readFileSync(path);
  } catch (err) {
    throw new Error(`${what} ${path}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/**
 * TLS server credentials that re-read their files every `refreshMs`, so a rotated certificate
 * (cert-manager rewrites Secrets in place) is served without a restart. Missing files fail at once.
 */
export function watchedServerCredentials(
  files: TlsFiles,
  clientAuth: ClientAuth,
  refreshMs: number,
): ServerCredentials {
  mustRead(files.cert_file, "TLS certificate");
  mustRead(files.key_file, "TLS key");
  if (clientAuth !== "none") mustRead(files.ca_file, "client CA");
  const identity = provider({ cert_file: files.cert_file, key_file: files.key_file }, refreshMs);
  const ca = clientAuth === "none" ? null : provider({ ca_file: files.ca_file }, refreshMs);
  // grpc-js 1.14 passes this function's first argument on as the identity provider and the second
  // as the CA provider, whatever its typings call them.
  return experimental.createCertificateProviderServerCredentials(
    identity,
    ca as unknown as experimental.CertificateProvider,
    clientAuth === "require",
  );
}

/**
 * TLS channel credentials (with a client certificate when `files` names one) that re-read their
 * files every `refreshMs`; `channelOptions` pins the name the server's certificate must carry.
 */
export function watchedChannelCredentials(
  files: Partial<TlsFiles>,
  serverName: string | undefined,
  refreshMs: number,
): { credentials: ChannelCredentials; channelOptions: ChannelOptions } {
  if (files.ca_file) mustRead(files.ca_file, "CA");
  if (files.cert_file) mustRead(files.cert_file, "TLS certificate");
  const ca = provider({ ca_file: files.ca_file }, refreshMs);
  const identity = files.cert_file
    ? provider({ cert_file: files.cert_file, key_file: files.key_file }, refreshMs)
    : null;
  const channelCredentials = files.ca_file
    ? experimental.createCertificateProviderChannelCredentials(ca, identity)
    : credentials.createSsl();
  return {
    credentials: channelCredentials,
    channelOptions: serverName ? { "grpc.ssl_target_name_override": serverName } : {},
  };
}

/** Plaintext server credentials (loopback, or an operator's explicit --insecure). */
export const insecureServerCredentials = (): ServerCredentials => ServerCredentials.createInsecure();
