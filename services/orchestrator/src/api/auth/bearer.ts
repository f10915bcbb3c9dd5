import type { Metadata } from "@grpc/grpc-js";
import { API_KEY_PREFIX, type ApiKeyParts, parseApiKey } from "./api-key.js";
import { AuthFailure, truncated } from "./auth-failure.js";

/** The largest authorization header accepted, in bytes (a signed JWT with many claims fits easily). */
export const MAX_AUTHORIZATION_BYTES = 8 * 1024;

/** A bearer credential: an API key, or a token for the OIDC verifier. */
export type Credential =
  | { readonly kind: "key"; readonly key: ApiKeyParts }
  | { readonly kind: "token"; readonly token: string };

const HOW = "send `authorization: Bearer <API key or token>`";

function headerValue(metadata: Metadata): string {
  if (metadata.get("authorization-bin").length > 0)
    throw new AuthFailure(`binary authorization-bin metadata is not accepted; ${HOW} as text metadata`);
  const values = metadata.get("authorization");
  if (values.length === 0) throw new AuthFailure(`missing credentials: ${HOW}`);
  if (values.length > 1) throw new AuthFailure(`malformed authorization: ${values.length} values; send one`);
  const value = values[0];
  if (typeof value !== "string") throw new AuthFailure(`malformed authorization: ${HOW}`);
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > MAX_AUTHORIZATION_BYTES)
    throw new AuthFailure(
      `authorization header too large: ${bytes} bytes (at most ${MAX_AUTHORIZATION_BYTES}); ${HOW}`,
    );
  return value;
}

/** The bearer credential in a call's metadata; AuthFailure saying what is missing or malformed. */
export function bearerCredential(metadata: Metadata): Credential {
  const [scheme = "", ...rest] = headerValue(metadata).trim().split(/\s+/);
  if (scheme.toLowerCase() !== "bearer") {
    // Quote the scheme only when something follows it and it looks like one, so a bare secret is never echoed.
    const quoted =
      rest.length > 0 && /^[A-Za-z][A-Za-z0-9-]*$/.test(scheme) ? `, got "${truncated(scheme, 16)}"` : "";
    throw new AuthFailure(`malformed authorization: expected the Bearer scheme${quoted}; ${HOW}`);
  }
  const [credential] = rest;
  if (credential === undefined || rest.length > 1)
    throw new AuthFailure(`malformed authorization: expected one credential after Bearer; ${HOW}`);
  if (!credential.startsWith(API_KEY_PREFIX)) return { kind: "token", token: credential };
  const key = parseApiKey(credential);
  if (!key)
    throw new AuthFailure(
      "malformed API key: expected chorus_<id>_<secret> as `chorus keys create` prints it",
    );
  return { kind: "key", key };
}
