import { hashSecret, type KeyEntry, keyEntryYaml, newApiKey } from "@chorus/orchestrator/keys";
import { type PrincipalLimits, ROLES, type Role } from "@chorus/shared";

/** The flags of `chorus keys create`, as parseArgs gives them. */
export interface KeysFlags {
  readonly principal?: string | undefined;
  readonly roles?: string | undefined;
  readonly expires?: string | undefined;
  readonly rpm?: string | undefined;
  readonly tpm?: string | undefined;
  readonly concurrent?: string | undefined;
}

const KEYS_USAGE =
  "usage: chorus keys create --principal NAME --roles user[,operator,admin] [--expires 30d|12h|ISO-TIME] " +
  "[--rpm N] [--tpm N] [--concurrent N]";

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000 };

/** When a key made at `nowMs` expires: `--expires 30d` (d, h or m from now) or an ISO time; undefined: never. */
export function expiryOf(flag: string | undefined, nowMs: number): number | undefined {
  if (flag === undefined) return undefined;
  const relative = /^(\d+)([dhm])$/.exec(flag);
  const ms =
    relative?.[1] && relative[2]
      ? nowMs + Number(relative[1]) * (UNIT_MS[relative[2]] ?? 0)
      : Date.parse(flag);
  if (Number.isNaN(ms))
    throw new Error(`--expires: "${flag}" is neither a duration (30d, 12h, 90m) nor an ISO time`);
  if (ms <= nowMs) throw new Error(`--expires: ${new Date(ms).toISOString()} is not in the future`);
  return ms;
}

function rolesOf(flag: string | undefined): Role[] {
  const names = (flag ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  if (names.length === 0) throw new Error(`--roles: name at least one of ${ROLES.join(", ")}`);
  for (const name of names)
    if (!ROLES.includes(name as Role))
      throw new Error(`--roles: "${name}" is not one of ${ROLES.join(", ")}`);
  return [...new Set(names as Role[])];
}

function limitsOf(flags: KeysFlags): PrincipalLimits | undefined {
  const limits: Record<string, number> = {};
  const pairs = [
    ["rpm", "requests_per_minute"],
    ["tpm", "tokens_per_minute"],
    ["concurrent", "concurrent_turns"],
  ] as const;
  for (const [flag, key] of pairs) {
    const value = flags[flag];
    if (value === undefined) continue;
    if (!/^\d+$/.test(value)) throw new Error(`--${flag}: "${value}" is not a whole number ≥ 0`);
    limits[key] = Number(value);
  }
  return Object.keys(limits).length > 0 ? limits : undefined;
}

/** A new API key for the flags' principal: the key itself (to show once) and its keys-file entry. */
export function createKey(flags: KeysFlags, nowMs: number): { key: string; entry: KeyEntry } {
  const principal = flags.principal?.trim() ?? "";
  if (principal === "") throw new Error("--principal: name whom the key stands for (e.g. --principal alice)");
  const roles = rolesOf(flags.roles);
  const expiresMs = expiryOf(flags.expires, nowMs);
  const limits = limitsOf(flags);
  const { id, secret, key } = newApiKey();
  return { key, entry: { id, hash: hashSecret(secret), principal, roles, expiresMs, limits } };
}

/** `chorus keys create`: prints a new API key once on stdout, then the entry to append to the keys file. */
export function keysCommand(args: readonly string[], flags: KeysFlags, nowMs = Date.now()): number {
  if (args[0] !== "create" || args.length > 1) {
    process.stderr.write(`${KEYS_USAGE}\n`);
    return 2;
  }
  let made: ReturnType<typeof createKey>;
  try {
    made = createKey(flags, nowMs);
  } catch (err) {
    process.stderr.write(`chorus keys create: ${(err as Error).message}\n${KEYS_USAGE}\n`);
    return 2;
  }
  process.stdout.write(`${made.key}\n\n${keyEntryYaml(made.entry)}\n`);
  process.stderr.write(
    "chorus keys create: the first line is the API key. It is shown only this once and cannot be " +
      "recovered: give it to its holder now (they send it as `authorization: Bearer <key>`).\n" +
      "The lines after it are its entry: append them under `keys:` in the API keys file " +
      "(security.auth.keys_file, e.g. the Secret mounted there). The file holds only the hash; " +
      "the orchestrator picks the change up within security.auth.reload_ms.\n",
  );
  return 0;
}
