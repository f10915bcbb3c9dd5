import type { PeerCertificate } from "node:tls";

/** What the transport says about a caller. */
export interface PeerInfo {
  /** The caller's address as grpc-js reports it (ip:port), the key for per-peer limits. */
  readonly address: string;
  /** True when the caller presented a client certificate that TLS verified against the trusted CA. */
  readonly verified: boolean;
  /** Names that verified client certificate carries: its common name and DNS subject alternative names. */
  readonly certificateNames: readonly string[];
}

/** The names a certificate vouches for: subject CN and every DNS subject alternative name. */
export function certificateNames(cert: PeerCertificate | undefined): string[] {
  if (!cert || Object.keys(cert).length === 0) return [];
  const names = new Set<string>();
  const cn = cert.subject?.CN;
  for (const name of Array.isArray(cn) ? cn : cn ? [cn] : []) names.add(name);
  for (const part of (cert.subjectaltname ?? "").split(",")) {
    const match = /^\s*DNS:(.+)$/.exec(part);
    if (match?.[1]) names.add(match[1].trim());
  }
  return [...names];
}

/** What grpc-js tells about a call's TLS session (its AuthContext, not exported by name). */
export interface TransportAuth {
  readonly transportSecurityType?: string | undefined;
  readonly sslPeerCertificate?: PeerCertificate | undefined;
}

/** The caller as seen by the transport (grpc-js reports a certificate only once TLS verified it). */
export function peerInfo(address: string, auth: TransportAuth): PeerInfo {
  const verified = auth.transportSecurityType === "ssl" && auth.sslPeerCertificate !== undefined;
  return { address, verified, certificateNames: verified ? certificateNames(auth.sslPeerCertificate) : [] };
}
