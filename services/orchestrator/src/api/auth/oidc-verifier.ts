import type { SecurityConfig } from "@chorus/config";
import { type Principal, ROLES, type Role } from "@chorus/shared";
import { createRemoteJWKSet, decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from "jose";
import { AuthFailure, truncated } from "./auth-failure.js";

/** `security.auth.oidc` as the config gives it. */
export type OidcSettings = SecurityConfig["auth"]["oidc"];

/** Where the issuer's signing keys are: jwks_url, or `<issuer>/.well-known/jwks.json`. */
export function jwksUrl(oidc: OidcSettings): URL {
  return new URL(oidc.jwks_url || `${oidc.issuer.replace(/\/+$/, "")}/.well-known/jwks.json`);
}

/** The roles a verified token grants: its roles claim (a list or a space-separated string), else the defaults. */
export function tokenRoles(payload: JWTPayload, oidc: OidcSettings): Set<Role> {
  const claim = payload[oidc.roles_claim];
  if (claim === undefined) return new Set(oidc.default_roles);
  const names = typeof claim === "string" ? claim.split(/\s+/) : Array.isArray(claim) ? claim : [];
  // Roles this server does not know (an issuer's own groups) are ignored, never an error.
  return new Set(names.filter((name): name is Role => ROLES.includes(name as Role)));
}

function claimFailure(err: errors.JWTClaimValidationFailed | errors.JWTExpired, oidc: OidcSettings) {
  const principal = err.payload[oidc.principal_claim];
  const context = {
    principal: typeof principal === "string" ? truncated(principal, 64) : undefined,
    credentialId: typeof err.payload.jti === "string" ? truncated(err.payload.jti, 64) : undefined,
  };
  const at = (seconds: unknown) =>
    typeof seconds === "number" ? ` (${new Date(seconds * 1000).toISOString()})` : "";
  const messages: Record<string, string> = {
    exp: err.reason === "missing" ? "token has no exp claim" : `token expired${at(err.payload.exp)}`,
    nbf: `token is not valid yet${at(err.payload.nbf)}`,
    iat: "token iat claim is invalid",
    iss: `token issuer is not ${oidc.issuer}`,
    aud: `token audience does not include ${oidc.audience}`,
  };
  return new AuthFailure(messages[err.claim] ?? `token claim ${err.claim} is invalid`, context);
}

function algorithmOf(token: string): string {
  try {
    return truncated(String(decodeProtectedHeader(token).alg), 16);
  } catch {
    return "?";
  }
}

// Turns a jose refusal into a message that says which check failed; the token itself is never quoted.
function tokenFailure(err: unknown, token: string, oidc: OidcSettings): unknown {
  if (err instanceof errors.JWTExpired || err instanceof errors.JWTClaimValidationFailed)
    return claimFailure(err, oidc);
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported)
    return new AuthFailure(
      `token algorithm ${algorithmOf(token)} is not accepted (accepted: ${oidc.algorithms.join(", ")})`,
    );
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return new AuthFailure("token signature does not verify");
  if (err instanceof errors.JWKSNoMatchingKey)
    return new AuthFailure("token is not signed by any key the issuer publishes");
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid)
    return new AuthFailure("malformed token: not a signed JWT (header.payload.signature)");
  // The issuer's keys could not be fetched or read: our problem, not the caller's (the guard says UNAVAILABLE).
  return err;
}

/** Verifies OIDC bearer tokens (JWTs) against the issuer's published keys and maps their claims to a principal. */
export class OidcVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(
    private readonly oidc: OidcSettings,
    private readonly clock: () => number = Date.now,
  ) {
    this.jwks = createRemoteJWKSet(jwksUrl(oidc), { timeoutDuration: 5000, cooldownDuration: 30_000 });
  }

  /** The principal a valid token names; AuthFailure saying which check failed otherwise. */
  async verify(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        issuer: this.oidc.issuer,
        audience: this.oidc.audience,
        // Only the configured asymmetric algorithms: never none, never HMAC with a public key as secret.
        algorithms: [...this.oidc.algorithms],
        clockTolerance: this.oidc.clock_skew_seconds,
        currentDate: new Date(this.clock()),
        // A token without exp would never expire.
        requiredClaims: ["exp"],
      }));
    } catch (err) {
      throw tokenFailure(err, token, this.oidc);
    }
    const id = payload[this.oidc.principal_claim];
    const credentialId = typeof payload.jti === "string" ? truncated(payload.jti, 64) : undefined;
    if (typeof id !== "string" || id === "")
      throw new AuthFailure(`token has no ${this.oidc.principal_claim} claim naming the principal`, {
        credentialId,
      });
    return { id, roles: tokenRoles(payload, this.oidc), via: "token", credentialId };
  }
}
