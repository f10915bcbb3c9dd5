import { dirname, join } from "node:path";
import type { ChorusConfig } from "./schema.js";

/** Where the mesh's throwaway CA and certificates live: security.mesh.dir, or mesh-tls beside history.path. */
export function meshDir(config: Pick<ChorusConfig, "security" | "history">): string {
  return config.security.mesh.dir || join(dirname(config.history.path), "mesh-tls");
}

/** The config with security.insecure set when the operator passed --insecure. */
export function withInsecureFlag<C extends Pick<ChorusConfig, "security">>(
  config: C,
  insecure: boolean | undefined,
): C {
  return insecure ? { ...config, security: { ...config.security, insecure: true } } : config;
}
