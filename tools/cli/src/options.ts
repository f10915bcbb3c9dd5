import type { ChorusConfig } from "@chorus/config";

/** The config path from --config, CHORUS_CONFIG, or ./config/chorus.yaml when it exists. */
export function configPath(flag: string | undefined, exists: (path: string) => boolean): string | undefined {
  if (flag) return flag;
  if (process.env.CHORUS_CONFIG) return process.env.CHORUS_CONFIG;
  return exists("config/chorus.yaml") ? "config/chorus.yaml" : undefined;
}

/** The orchestrator address a client command talks to. */
export function orchestratorAddress(flag: string | undefined, config: ChorusConfig): string {
  return flag ?? process.env.CHORUS_ADDRESS ?? `${config.orchestrator.host}:${config.orchestrator.port}`;
}
