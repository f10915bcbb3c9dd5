import type { SecurityConfig } from "@chorus/config";
import { type Gatekeeper, LOCAL_PRINCIPAL, type Logger, type Principal } from "@chorus/shared";
import type { Metadata } from "@grpc/grpc-js";
import { type Audit, auditLog } from "./audit.js";
import { AuthFailure } from "./auth-failure.js";
import { bearerCredential } from "./bearer.js";
import { FailureLimiter } from "./failure-limiter.js";
import { KeyStore } from "./key-store.js";
import { authorizeMethod } from "./method-policy.js";
import { OidcVerifier } from "./oidc-verifier.js";
import { peerIp } from "./peer-ip.js";

/** What the public port's gatekeeper is made from. */
export interface PublicGatekeeperOptions {
  /** `security.auth` from the config. */
  readonly auth: SecurityConfig["auth"];
  readonly log: Logger;
  /** Where refusals are recorded; an audit trail on `log` when absent. */
  readonly audit?: Audit | undefined;
  /** Milliseconds since the epoch (key expiry, token times, failure windows). */
  readonly clock?: (() => number) | undefined;
}

/** The public port's gatekeeper, and what it needs at start and stop. */
export interface PublicGatekeeper extends Gatekeeper {
  /** True when callers must prove who they are; false (no keys file, no issuer): every caller is the local admin. */
  readonly authenticates: boolean;
  /** Stops re-reading the keys file. */
  close(): void;
}

function localGatekeeper(): PublicGatekeeper {
  return { authenticates: false, authenticate: async () => LOCAL_PRINCIPAL, authorize() {}, close() {} };
}

/**
 * Authenticates callers of the orchestrator's public port by API key (keys_file) or OIDC token (oidc.issuer),
 * bounds failed attempts per peer IP, authorizes by METHOD_POLICY, and audits every refusal.
 * Throws at once when the keys file is unreadable or invalid.
 */
export function publicGatekeeper(options: PublicGatekeeperOptions): PublicGatekeeper {
  const { auth, log } = options;
  const clock = options.clock ?? Date.now;
  const keys = auth.keys_file ? new KeyStore(auth.keys_file, auth.reload_ms, log, clock) : undefined;
  const oidc = auth.oidc.issuer ? new OidcVerifier(auth.oidc, clock) : undefined;
  if (!keys && !oidc) return localGatekeeper();
  log.info(
    { keys_file: auth.keys_file || undefined, keys: keys?.size, oidc_issuer: auth.oidc.issuer || undefined },
    "public port: callers must authenticate",
  );
  const audit = options.audit ?? auditLog(log);
  const limiter = new FailureLimiter(auth.failed_per_minute, clock);

  const identify = async (metadata: Metadata): Promise<Principal> => {
    const credential = bearerCredential(metadata);
    if (credential.kind === "key") {
      if (!keys) throw new AuthFailure("API keys are not accepted here: this server takes OIDC tokens only");
      return keys.verify(credential.key);
    }
    if (!oidc)
      throw new AuthFailure(
        "the bearer credential is not an API key (chorus_…) and this server accepts no tokens",
      );
    return oidc.verify(credential.token);
  };

  return {
    authenticates: true,
    async authenticate(metadata, peer, method) {
      const ip = peerIp(peer.address);
      limiter.check(ip);
      try {
        return await identify(metadata);
      } catch (err) {
        if (err instanceof AuthFailure) {
          const peerBlocked = limiter.fail(ip);
          const reason = err.message;
          audit.refusal({
            method,
            peer: peer.address,
            reason,
            code: "UNAUTHENTICATED",
            ...err.context,
            peerBlocked,
          });
        }
        throw err;
      }
    },
    authorize(principal, method) {
      try {
        authorizeMethod(principal, method);
      } catch (err) {
        const reason = (err as Error).message;
        const { id, credentialId } = principal;
        audit.refusal({ method, reason, code: "PERMISSION_DENIED", principal: id, credentialId });
        throw err;
      }
    },
    close() {
      keys?.close();
    },
  };
}
