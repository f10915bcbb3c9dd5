import { readFileSync } from "node:fs";
import { type ChorusConfig, DATABASE_URL_VARIABLES } from "@chorus/config";

type PostgresConfig = ChorusConfig["history"]["postgres"];

/**
 * The PostgreSQL URL of backend postgres: CHORUS_HISTORY_DATABASE_URL, else the contents of
 * history.postgres.url_file (a mounted Secret), else DATABASE_URL. Never a config key: it holds
 * a password. Throws naming every place it looked when none holds one.
 */
export function databaseUrl(postgres: PostgresConfig, env: NodeJS.ProcessEnv = process.env): string {
  const [own, generic] = DATABASE_URL_VARIABLES;
  const fromEnv = env[own]?.trim();
  if (fromEnv) return fromEnv;
  if (postgres.url_file !== "") {
    let text: string;
    try {
      text = readFileSync(postgres.url_file, "utf8").trim();
    } catch (err) {
      throw new Error(
        `history.postgres.url_file: cannot read ${postgres.url_file}: ${(err as Error).message}`,
      );
    }
    if (text === "") throw new Error(`history.postgres.url_file: ${postgres.url_file} is empty`);
    return text;
  }
  const fallback = env[generic]?.trim();
  if (fallback) return fallback;
  throw new Error(
    `history.backend is postgres but no database URL is set: set ${own} (or ${generic}), or history.postgres.url_file`,
  );
}

/** The URL without its password (and query), fit for a log line. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    parsed.search = "";
    return parsed.toString();
  } catch {
    return "(unparsable database URL)";
  }
}
