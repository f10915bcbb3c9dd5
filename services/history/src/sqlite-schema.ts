import type { Database } from "better-sqlite3";

/** Schema migrations in order; migration i brings `user_version` from i to i + 1. Never edit one. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE conversations (
    conversation_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    turn_count INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX conversations_by_update ON conversations (updated_at_ms DESC, conversation_id DESC);

  CREATE TABLE turns (
    turn_id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (conversation_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    message TEXT NOT NULL,
    answer TEXT NOT NULL,
    aggregation INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    started_at_ms INTEGER NOT NULL,
    completed_at_ms INTEGER NOT NULL,
    UNIQUE (conversation_id, seq)
  );

  CREATE TABLE agent_answers (
    turn_id TEXT NOT NULL REFERENCES turns (turn_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    agent TEXT NOT NULL,
    replica TEXT NOT NULL,
    text TEXT NOT NULL,
    ok INTEGER NOT NULL,
    error TEXT NOT NULL,
    latency_ms REAL NOT NULL,
    attempts INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cached INTEGER NOT NULL,
    PRIMARY KEY (turn_id, position)
  ) WITHOUT ROWID;
  `,
  `
  ALTER TABLE turns ADD COLUMN answered_by TEXT NOT NULL DEFAULT '[]';
  `,
  // Conversations stored before ownership belong to "local", the principal of a keyless run
  // (LOCAL_PRINCIPAL). Every insert names its owner; the default only fills the existing rows.
  `
  ALTER TABLE conversations ADD COLUMN owner TEXT NOT NULL DEFAULT 'local';
  CREATE INDEX conversations_by_owner ON conversations (owner, updated_at_ms DESC, conversation_id DESC);
  `,
  // Claims on turn ids whose turns are being answered, per owner, each until its lease runs out.
  `
  CREATE TABLE turn_claims (
    owner TEXT NOT NULL,
    turn_id TEXT NOT NULL,
    claim_id TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    PRIMARY KEY (owner, turn_id)
  ) WITHOUT ROWID;
  CREATE INDEX turn_claims_by_expiry ON turn_claims (expires_at_ms);
  `,
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database schema up to SCHEMA_VERSION; refuses a database written by a newer build. */
export function migrate(db: Database): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `${db.name}: schema version ${current} is newer than this build supports (${SCHEMA_VERSION})`,
    );
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] ?? "");
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
