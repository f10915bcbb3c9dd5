import { type ChorusConfig, loadConfig } from "@chorus/config";

/** The config path from --config, CHORUS_CONFIG, or ./config/chorus.yaml when it exists. */
export function configPath(flag: string | undefined, exists: (path: string) => boolean): string | undefined {
  if (flag) return flag;
  if (process.env.CHORUS_CONFIG) return process.env.CHORUS_CONFIG;
  return exists("config/chorus.yaml") ? "config/chorus.yaml" : undefined;
}

/** Loads config, printing the error (file and key) and exiting with 2 when it is invalid. */
export function loadConfigOrExit(path: string | undefined): ChorusConfig {
  try {
    return loadConfig(path);
  } catch (err) {
    process.stderr.write(`chorus: ${(err as Error).message}\n`);
    process.exit(2);
  }
}

/** Parses an integer flag, exiting with a clear message when it is not one. */
export function intFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) {
    process.stderr.write(`chorus: --${name} must be an integer, got "${value}"\n`);
    process.exit(2);
  }
  return parsed;
}

/** The orchestrator address a client command talks to. */
export function orchestratorAddress(flag: string | undefined, config: ChorusConfig): string {
  return flag ?? process.env.CHORUS_ADDRESS ?? `${config.orchestrator.host}:${config.orchestrator.port}`;
}
