import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** Every API key starts with this, so a bearer credential is told apart from a JWT at a glance. */
export const API_KEY_PREFIX = "chorus_";

const KEY_PATTERN = /^chorus_([a-z0-9]{4,32})_([A-Za-z0-9_-]{43})$/;

/** What an API key id may look like: lowercase letters and digits, no underscore (the separator). */
export const KEY_ID_PATTERN = /^[a-z0-9]{4,32}$/;

/** What a stored secret hash looks like: `sha256:` and 64 lowercase hex digits. */
export const KEY_HASH_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** An API key split into its public id and its secret. */
export interface ApiKeyParts {
  readonly id: string;
  readonly secret: string;
}

/** A freshly made API key: the whole key (shown once) and its parts. */
export interface NewApiKey extends ApiKeyParts {
  readonly key: string;
}

/** Makes a new key `chorus_<id>_<secret>`: a random 16-hex-digit id and 32 random bytes of secret (base64url). */
export function newApiKey(): NewApiKey {
  const id = randomBytes(8).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  return { id, secret, key: `${API_KEY_PREFIX}${id}_${secret}` };
}

/** The id and secret of a well-formed API key; undefined when `credential` is not one. */
export function parseApiKey(credential: string): ApiKeyParts | undefined {
  const match = KEY_PATTERN.exec(credential);
  return match?.[1] && match[2] ? { id: match[1], secret: match[2] } : undefined;
}

// The secret is 256 random bits, so one fast unsalted SHA-256 is enough: there is no dictionary or
// guessable space for a salt or a slow hash (bcrypt, scrypt) to protect, and verifying every call
// with a slow hash would cost CPU that an attacker could spend for us.
/** The hash stored in the keys file for `secret`: `sha256:<hex>`. */
export function hashSecret(secret: string): string {
  return `sha256:${createHash("sha256").update(secret, "utf8").digest("hex")}`;
}

/** True when `secret` hashes to `storedHash`, compared in constant time. */
export function secretMatches(secret: string, storedHash: string): boolean {
  if (!KEY_HASH_PATTERN.test(storedHash)) return false;
  const expected = Buffer.from(storedHash.slice("sha256:".length), "hex");
  const actual = createHash("sha256").update(secret, "utf8").digest();
  return timingSafeEqual(actual, expected);
}
