import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** The flags every service's main understands (the CLI passes its own through). */
export interface ServiceFlags {
  readonly config?: string | undefined;
  readonly host?: string | undefined;
  readonly port?: string | undefined;
  readonly "metrics-port"?: string | undefined;
  readonly agent?: string | undefined;
  readonly "replica-id"?: string | undefined;
  readonly "history-address"?: string | undefined;
  /** Allow listening beyond loopback without TLS or authentication (security.insecure). */
  readonly insecure?: boolean | undefined;
}

/** Parses a service's command line into its flags, exiting with 2 on an unknown flag. */
export function parseServiceFlags(argv: readonly string[]): ServiceFlags {
  const text = { type: "string" } as const;
  try {
    const options = { config: text, host: text, port: text, "metrics-port": text, agent: text };
    const more = { "replica-id": text, "history-address": text, insecure: { type: "boolean" } } as const;
    return parseArgs({ args: [...argv], options: { ...options, ...more } }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
}

/** Parses an integer flag, exiting with 2 and a clear message when it is not one. */
export function intFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) {
    process.stderr.write(`chorus: --${name} must be an integer, got "${value}"\n`);
    process.exit(2);
  }
  return parsed;
}

/**
 * Runs `start` with the parsed flags when `moduleUrl` is the file node was asked to run (a
 * service's src/main.ts run through tsx). A bundle (.mjs) holding every main never starts one by
 * being loaded: the CLI calls the mains it needs.
 */
export function runIfMain(moduleUrl: string, start: (flags: ServiceFlags) => Promise<void>): void {
  const self = fileURLToPath(moduleUrl);
  if (!self.endsWith(".ts") || process.argv[1] === undefined || resolve(process.argv[1]) !== self) return;
  start(parseServiceFlags(process.argv.slice(2))).catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
