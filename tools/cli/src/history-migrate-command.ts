import { DATABASE_URL_VARIABLES } from "@chorus/config";

const USAGE = "usage: chorus history migrate --from SQLITE_FILE [--to POSTGRES_URL]";

/** Where the command writes: stdout and stderr, replaceable in tests. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

const processOutput: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/**
 * `chorus history migrate --from FILE --to URL`: copies a SQLite history into PostgreSQL and prints
 * what it copied and what was already there (running it again copies nothing twice). Without --to,
 * the URL comes from CHORUS_HISTORY_DATABASE_URL or DATABASE_URL, which keeps the password out of
 * process listings and shell history.
 */
export async function historyMigrateCommand(
  from: string | undefined,
  to: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  output: Output = processOutput,
): Promise<number> {
  const url = to ?? DATABASE_URL_VARIABLES.map((name) => env[name]?.trim()).find(Boolean);
  if (!from) {
    output.err(`chorus history migrate: --from is required\n${USAGE}\n`);
    return 2;
  }
  if (!url) {
    output.err(
      `chorus history migrate: no database: pass --to or set ${DATABASE_URL_VARIABLES.join(" or ")}\n${USAGE}\n`,
    );
    return 2;
  }
  // Loaded only here: the rest of the CLI does not need pg.
  const { copySqliteToPostgres, redactedUrl } = await import("@chorus/history");
  try {
    const report = await copySqliteToPostgres(from, url);
    output.out(`chorus history migrate: ${from} → ${redactedUrl(url)}\n`);
    const rows: Array<[string, { copied: number; present: number }]> = [
      ["conversations", report.conversations],
      ["turns", report.turns],
      ["agent answers", report.agentAnswers],
    ];
    for (const [table, counts] of rows) {
      output.out(
        `  ${table.padEnd(14)} ${String(counts.copied).padStart(8)} copied, ${counts.present} already there\n`,
      );
    }
    return 0;
  } catch (err) {
    // pg's and SQLite's messages name no password; the URL is printed only redacted.
    output.err(`chorus history migrate: ${(err as Error).message}\n`);
    return 1;
  }
}
