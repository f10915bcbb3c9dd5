import { type PrincipalLimits, ROLES, type Role } from "@chorus/shared";
import { parse, stringify } from "yaml";
import { KEY_HASH_PATTERN, KEY_ID_PATTERN } from "./api-key.js";

/** One API key as the keys file stores it: public id, secret hash, whom it stands for. */
export interface KeyEntry {
  readonly id: string;
  /** `sha256:<hex>` of the key's secret part. */
  readonly hash: string;
  readonly principal: string;
  readonly roles: readonly Role[];
  /** When the key stops working, in ms since the epoch; undefined: never. */
  readonly expiresMs?: number | undefined;
  readonly limits?: PrincipalLimits | undefined;
}

/** A keys file that cannot be used; the message names the file and the key. */
export class KeysFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeysFileError";
  }
}

const ENTRY_KEYS = new Set(["id", "hash", "principal", "roles", "expires", "limits"]);
const LIMIT_KEYS = ["requests_per_minute", "tokens_per_minute", "concurrent_turns"] as const;

type Problem = (key: string, message: string) => never;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function roles(value: unknown, at: string, fail: Problem): Role[] {
  if (!Array.isArray(value) || value.length === 0) fail(`${at}.roles`, "must list at least one role");
  return value.map((role: unknown, i) => {
    if (!ROLES.includes(role as Role)) fail(`${at}.roles[${i}]`, `must be one of ${ROLES.join(", ")}`);
    return role as Role;
  });
}

function limits(value: unknown, at: string, fail: Problem): PrincipalLimits | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) fail(`${at}.limits`, "must be a mapping");
  for (const key of Object.keys(value))
    if (!(LIMIT_KEYS as readonly string[]).includes(key))
      fail(`${at}.limits.${key}`, `unknown key (expected ${LIMIT_KEYS.join(", ")})`);
  for (const key of LIMIT_KEYS) {
    const n = value[key];
    if (n !== undefined && !(Number.isInteger(n) && (n as number) >= 0))
      fail(`${at}.limits.${key}`, "must be a whole number ≥ 0");
  }
  return value as PrincipalLimits;
}

function entry(value: unknown, at: string, fail: Problem): KeyEntry {
  if (!isRecord(value)) fail(at, "must be a mapping with id, hash, principal and roles");
  for (const key of Object.keys(value)) if (!ENTRY_KEYS.has(key)) fail(`${at}.${key}`, "unknown key");
  const { id, hash, principal, expires } = value;
  if (typeof id !== "string" || !KEY_ID_PATTERN.test(id))
    fail(`${at}.id`, "must be 4 to 32 lowercase letters or digits");
  // The hash is never quoted back: it is not secret, but it is nobody's business either.
  if (typeof hash !== "string" || !KEY_HASH_PATTERN.test(hash))
    fail(`${at}.hash`, "must be sha256: followed by 64 lowercase hex digits");
  if (typeof principal !== "string" || principal.trim() === "" || principal.length > 256)
    fail(`${at}.principal`, "must be a non-empty name (at most 256 characters)");
  let expiresMs: number | undefined;
  if (expires !== undefined) {
    expiresMs = typeof expires === "string" ? Date.parse(expires) : Number.NaN;
    if (Number.isNaN(expiresMs)) fail(`${at}.expires`, "must be an ISO time, e.g. 2030-01-31T00:00:00Z");
  }
  return {
    id,
    hash,
    principal,
    roles: roles(value.roles, at, fail),
    expiresMs,
    limits: limits(value.limits, at, fail),
  };
}

/** Parses and checks a keys file's text (`keys:` and a list of entries); throws KeysFileError naming `file` and the key. */
export function parseKeysFile(text: string, file: string): ReadonlyMap<string, KeyEntry> {
  const fail: Problem = (key, message) => {
    throw new KeysFileError(`${file}: ${key}: ${message}`);
  };
  let document: unknown;
  try {
    document = parse(text);
  } catch (err) {
    throw new KeysFileError(`${file}: invalid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  if (!isRecord(document) || !("keys" in document))
    fail("keys", "missing: the file must hold `keys:` and a list of entries (`keys: []` for none)");
  for (const key of Object.keys(document)) if (key !== "keys") fail(key, "unknown key");
  const list = document.keys ?? [];
  if (!Array.isArray(list)) fail("keys", "must be a list of entries");
  const entries = new Map<string, KeyEntry>();
  for (const [i, item] of list.entries()) {
    const parsed = entry(item, `keys[${i}]`, fail);
    if (entries.has(parsed.id)) fail(`keys[${i}].id`, `duplicate id ${parsed.id}`);
    entries.set(parsed.id, parsed);
  }
  return entries;
}

/** The keys file entry for `entry`, as YAML lines to append under `keys:` (two-space indented list item). */
export function keyEntryYaml(entry: KeyEntry): string {
  const item = {
    id: entry.id,
    hash: entry.hash,
    principal: entry.principal,
    roles: [...entry.roles],
    ...(entry.expiresMs === undefined ? {} : { expires: new Date(entry.expiresMs).toISOString() }),
    ...(entry.limits && Object.keys(entry.limits).length > 0 ? { limits: entry.limits } : {}),
  };
  return stringify([item])
    .trimEnd()
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}
