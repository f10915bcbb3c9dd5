import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { ChorusConfig } from "@chorus/config";
import type { Logger } from "@chorus/shared";
import { databaseUrl, redactedUrl } from "./database-url.js";
import { openPostgresStore } from "./postgres-store.js";
import { openSqliteStore } from "./sqlite-store.js";
import type { Store } from "./store.js";

/** A Store the service owns: closed once nothing can call it any more. */
export interface ClosableStore extends Store {
  close(): void | Promise<void>;
}

/** An open store and where its data lives (for the log: never a password). */
export interface OpenedStore {
  readonly store: ClosableStore;
  readonly location: string;
}

/**
 * Opens the backend history.backend names, migrated to the current schema: the SQLite file at
 * `path` (its directory created if missing), or the PostgreSQL database of databaseUrl.
 */
export async function openStore(
  history: ChorusConfig["history"],
  path: string,
  log?: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<OpenedStore> {
  if (history.backend === "sqlite") {
    mkdirSync(dirname(path), { recursive: true });
    return { store: openSqliteStore(path), location: path };
  }
  const url = databaseUrl(history.postgres, env);
  const store = await openPostgresStore(url, {
    poolSize: history.postgres.pool_size,
    connectTimeoutMs: history.postgres.connect_timeout_ms,
    statementTimeoutMs: history.postgres.statement_timeout_ms,
    ...(log ? { log } : {}),
  });
  return { store, location: redactedUrl(url) };
}
