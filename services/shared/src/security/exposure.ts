import { isIP } from "node:net";

/** What protects a port, to decide whether it may listen beyond loopback. */
export interface Exposure {
  /** The service, for the message. */
  readonly service: string;
  readonly host: string;
  readonly port: number;
  /** TLS on the port (mTLS counts). */
  readonly tls: boolean;
  /** Callers must prove who they are (API keys, tokens, or mesh certificates). */
  readonly authenticated: boolean;
  /** The operator said --insecure (security.insecure: true). */
  readonly insecure: boolean;
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  if (bare === "localhost") return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  return bare === "::1";
}

/**
 * Refuses, with a message saying why and what to set, a port beyond loopback that lacks TLS or
 * authentication, unless the operator explicitly allowed it.
 */
export function checkExposure(exposure: Exposure): void {
  if (exposure.insecure || isLoopback(exposure.host)) return;
  const missing = [exposure.tls ? "" : "TLS", exposure.authenticated ? "" : "authentication"].filter(Boolean);
  if (missing.length === 0) return;
  throw new Error(
    `${exposure.service}: refusing to listen on ${exposure.host}:${exposure.port} without ${missing.join(" and ")}; ` +
      "configure security.tls and security.auth (or security.mesh for internal services), " +
      "or run with --insecure (security.insecure: true) to accept the risk",
  );
}
