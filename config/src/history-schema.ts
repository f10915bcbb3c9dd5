import { z } from "zod";
import { about, positiveInt } from "./schema-parts.js";

/** The environment variables that may hold the history database's URL, in the order they are read. */
export const DATABASE_URL_VARIABLES = ["CHORUS_HISTORY_DATABASE_URL", "DATABASE_URL"] as const;

/** Where history keeps conversations: an embedded SQLite file, or a PostgreSQL database shared by replicas. */
export const historyBackendSchema = z
  .enum(["sqlite", "postgres"])
  .default("sqlite")
  .meta(
    about(
      "sqlite: one replica, the file at history.path; postgres: any number of replicas on one database (its URL from CHORUS_HISTORY_DATABASE_URL, history.postgres.url_file or DATABASE_URL, never from this file).",
    ),
  );

/**
 * `history.postgres:`: how history reaches PostgreSQL. The URL itself carries a password, so it is
 * never a key: it comes from the environment or from a file (a mounted Secret).
 */
export const historyPostgresSchema = z
  .object({
    url_file: z
      .string()
      .default("")
      .meta(
        about(
          "File holding the database URL (e.g. a mounted Secret), read when CHORUS_HISTORY_DATABASE_URL is unset; empty: DATABASE_URL.",
        ),
      ),
    pool_size: positiveInt.max(1000).default(10).meta(about("Most connections one history replica opens.")),
    connect_timeout_ms: positiveInt
      .default(5000)
      .meta(about("How long (ms) opening a connection may take before the call fails with UNAVAILABLE.")),
    statement_timeout_ms: positiveInt
      .default(10_000)
      .meta(about("Longest (ms) one statement may run; the server cancels it beyond.")),
  })
  .strict();
