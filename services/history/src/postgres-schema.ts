import type { Pool, PoolClient } from "pg";

/**
 * Schema migrations in order; migration i brings schema_version from i to i + 1. Never edit one.
 * Version 1 is SQLite's schema at its version 3, so both backends hold the same data. Ids sort
 * byte-wise (COLLATE "C"), as SQLite's BINARY does, so pages come in the same order on both.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE conversations (
    conversation_id TEXT COLLATE "C" PRIMARY KEY,
    owner TEXT COLLATE "C" NOT NULL,
    title TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    turn_count INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX conversations_by_update ON conversations (updated_at_ms DESC, conversation_id DESC);
  CREATE INDEX conversations_by_owner ON conversations (owner, updated_at_ms DESC, conversation_id DESC);

  CREATE TABLE turns (
    turn_id TEXT COLLATE "C" PRIMARY KEY,
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (conversation_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    message TEXT NOT NULL,
    answer TEXT NOT NULL,
    aggregation INTEGER NOT NULL,
    latency_ms DOUBLE PRECISION NOT NULL,
    started_at_ms BIGINT NOT NULL,
    completed_at_ms BIGINT NOT NULL,
    answered_by TEXT NOT NULL DEFAULT '[]',
    -- Insertion order, SQLite's rowid: ties between turns completed in the same millisecond.
    stored BIGINT GENERATED ALWAYS AS IDENTITY,
    UNIQUE (conversation_id, seq)
  );
  CREATE INDEX turns_by_completion ON turns (completed_at_ms DESC, stored DESC);

  CREATE TABLE agent_answers (
    turn_id TEXT COLLATE "C" NOT NULL REFERENCES turns (turn_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    agent TEXT NOT NULL,
    replica TEXT NOT NULL,
    text TEXT NOT NULL,
    ok BOOLEAN NOT NULL,
    error TEXT NOT NULL,
    latency_ms DOUBLE PRECISION NOT NULL,
    attempts INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cached BOOLEAN NOT NULL,
    PRIMARY KEY (turn_id, position)
  );
  `,
  // SQLite's version 4: claims on turn ids whose turns are being answered, per owner, each until
  // its lease runs out.
  `
  CREATE TABLE turn_claims (
    owner TEXT COLLATE "C" NOT NULL,
    turn_id TEXT COLLATE "C" NOT NULL,
    claim_id TEXT COLLATE "C" NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    PRIMARY KEY (owner, turn_id)
  );
  CREATE INDEX turn_claims_by_expiry ON turn_claims (expires_at_ms);
  `,
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Key of the transaction-scoped advisory lock that serializes migrations: replicas starting
 * together migrate one after another, and the later ones find nothing left to do.
 */
export const MIGRATION_LOCK_KEY = 0x63686f72; // "chor"

async function currentVersion(client: PoolClient): Promise<number> {
  await client.query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  const { rows } = await client.query<{ version: number }>("SELECT version FROM schema_version");
  if (rows.length > 1) throw new Error("schema_version holds more than one row");
  return rows[0]?.version ?? 0;
}

/**
 * Brings the database schema up to SCHEMA_VERSION in one transaction under an advisory lock;
 * refuses a database written by a newer build. Resolves to the version found before migrating.
 */
export async function migrate(pool: Pool): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY]);
    const found = await currentVersion(client);
    if (found > SCHEMA_VERSION) {
      throw new Error(
        `PostgreSQL history: schema version ${found} is newer than this build supports (${SCHEMA_VERSION})`,
      );
    }
    for (let version = found; version < SCHEMA_VERSION; version++) {
      await client.query(MIGRATIONS[version] ?? "");
    }
    if (found === 0) await client.query("INSERT INTO schema_version (version) VALUES ($1)", [SCHEMA_VERSION]);
    else if (found < SCHEMA_VERSION)
      await client.query("UPDATE schema_version SET version = $1", [SCHEMA_VERSION]);
    await client.query("COMMIT");
    return found;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
