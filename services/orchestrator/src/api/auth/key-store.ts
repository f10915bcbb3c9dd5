import { type BigIntStats, readFileSync, statSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import type { Logger, Principal } from "@chorus/shared";
import { type ApiKeyParts, secretMatches } from "./api-key.js";
import { AuthFailure } from "./auth-failure.js";
import { type KeyEntry, KeysFileError, parseKeysFile } from "./keys-file.js";

// The inode changes when a Kubernetes Secret volume swaps in a new file; mtime and size catch edits in place.
const fingerprint = (s: BigIntStats) => `${s.ino}:${s.mtimeNs}:${s.size}`;

/**
 * The API keys of a keys file, re-read when the file changes (checked every `reloadMs`); a file that
 * becomes unreadable or invalid keeps the last good keys and logs why, naming the file and the key.
 */
export class KeyStore {
  private entries: ReadonlyMap<string, KeyEntry> = new Map();
  private seen = "";
  private readonly timer: NodeJS.Timeout;
  private checking = false;

  /** Reads `file` at once (throwing KeysFileError when it is unusable), then watches it. */
  constructor(
    private readonly file: string,
    reloadMs: number,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {
    try {
      // Looked at before reading, so a change made while reading is seen on the next check.
      this.seen = fingerprint(statSync(file, { bigint: true }));
      this.entries = parseKeysFile(readFileSync(file, "utf8"), file);
    } catch (err) {
      if (err instanceof KeysFileError) throw err;
      throw new KeysFileError(
        `${file}: cannot read the API keys file: ${(err as NodeJS.ErrnoException).code ?? err}`,
      );
    }
    this.timer = setInterval(() => void this.check(), reloadMs);
    this.timer.unref();
  }

  /** How many keys the store holds now. */
  get size(): number {
    return this.entries.size;
  }

  /** Re-reads the file if it changed since the last look. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await this.reload();
    } finally {
      this.checking = false;
    }
  }

  private async reload(): Promise<void> {
    let print: string;
    try {
      print = fingerprint(await stat(this.file, { bigint: true }));
    } catch (err) {
      print = `unreadable:${(err as NodeJS.ErrnoException).code ?? err}`;
      // Said once per outage, not on every poll.
      if (print !== this.seen)
        this.log.error(
          { file: this.file, error: print },
          "API keys file unreadable; keeping the last good keys",
        );
      this.seen = print;
      return;
    }
    if (print === this.seen) return;
    this.seen = print;
    try {
      this.entries = parseKeysFile(await readFile(this.file, "utf8"), this.file);
      this.log.info({ file: this.file, keys: this.entries.size }, "API keys file reloaded");
    } catch (err) {
      this.log.error(
        { file: this.file, error: (err as Error).message },
        "API keys file rejected; keeping the last good keys",
      );
    }
  }

  /** The principal `key` stands for; AuthFailure when it is unknown, its secret is wrong or it has expired. */
  verify(key: ApiKeyParts): Principal {
    const entry = this.entries.get(key.id);
    if (!entry || !secretMatches(key.secret, entry.hash))
      throw new AuthFailure(`unknown API key ${key.id}: no such key, or its secret does not match`, {
        credentialId: key.id,
      });
    if (entry.expiresMs !== undefined && this.clock() >= entry.expiresMs)
      throw new AuthFailure(`API key ${key.id} expired at ${new Date(entry.expiresMs).toISOString()}`, {
        credentialId: key.id,
        principal: entry.principal,
      });
    return {
      id: entry.principal,
      roles: new Set(entry.roles),
      via: "key",
      credentialId: entry.id,
      limits: entry.limits,
    };
  }

  /** Stops watching the file. */
  close(): void {
    clearInterval(this.timer);
  }
}
