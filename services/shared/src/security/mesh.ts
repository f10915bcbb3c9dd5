import { join } from "node:path";
import type { ServerCredentials } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import type { ClientTransport } from "../grpc-client.js";
import { RpcError } from "../status.js";
import { type TlsFiles, watchedChannelCredentials, watchedServerCredentials } from "./credentials.js";
import { checkExposure } from "./exposure.js";
import type { Gatekeeper } from "./guard.js";
import type { Principal } from "./principal.js";

/** The services of the mesh, each with a certificate of its own. */
export type MeshService = "orchestrator" | "agent" | "history";

/** `security.mesh` as the config gives it. */
export interface MeshSettings {
  readonly mode: "auto" | "files" | "off";
  readonly dir: string;
  readonly ca_file: string;
  readonly cert_file: string;
  readonly key_file: string;
  readonly orchestrator_name: string;
  readonly agent_name: string;
  readonly history_name: string;
}

/** The certificate name the mesh requires of `service`. */
export function meshName(mesh: MeshSettings, service: MeshService): string {
  return { orchestrator: mesh.orchestrator_name, agent: mesh.agent_name, history: mesh.history_name }[
    service
  ];
}

/**
 * The CA, certificate and key files `service` uses inside the mesh; undefined when mTLS is off.
 * `auto` reads what `chorus up` generated under `mesh.dir` (or `defaultDir`); `files` substitutes
 * `{service}` in the configured paths.
 */
export function meshFiles(
  mesh: MeshSettings,
  service: MeshService,
  defaultDir: string,
): TlsFiles | undefined {
  if (mesh.mode === "off") return undefined;
  if (mesh.mode === "files") {
    const fill = (path: string) => path.replaceAll("{service}", service);
    return { ca_file: fill(mesh.ca_file), cert_file: fill(mesh.cert_file), key_file: fill(mesh.key_file) };
  }
  const dir = mesh.dir || defaultDir;
  return {
    ca_file: join(dir, "ca.pem"),
    cert_file: join(dir, `${service}.pem`),
    key_file: join(dir, `${service}-key.pem`),
  };
}

/** Admits only callers whose verified mesh certificate carries the orchestrator's name. */
export function orchestratorOnly(orchestratorName: string): Gatekeeper {
  return {
    async authenticate(_metadata, peer) {
      if (!peer.certificateNames.includes(orchestratorName))
        throw new RpcError(
          status.UNAUTHENTICATED,
          `only the orchestrator (${orchestratorName}) may call this service` +
            (peer.verified ? `; the certificate names ${peer.certificateNames.join(", ")}` : ""),
        );
      const principal: Principal = { id: orchestratorName, roles: new Set(["admin"]), via: "mesh" };
      return principal;
    },
    authorize() {},
  };
}

/** How an agent or history serves inside the mesh: mTLS that admits only the orchestrator. */
export interface MeshServerSecurity {
  readonly credentials: ServerCredentials;
  readonly gatekeeper: Gatekeeper;
}

/** The mTLS server side of `service` (agent or history); undefined when mTLS is off. */
export function meshServerSecurity(
  mesh: MeshSettings,
  service: MeshService,
  defaultDir: string,
  refreshMs: number,
): MeshServerSecurity | undefined {
  const files = meshFiles(mesh, service, defaultDir);
  if (!files) return undefined;
  return {
    credentials: watchedServerCredentials(files, "require", refreshMs),
    gatekeeper: orchestratorOnly(mesh.orchestrator_name),
  };
}

/**
 * The orchestrator's way to reach `peer` inside the mesh: its own certificate as the client's, and
 * the peer's certificate required to carry the peer's mesh name; undefined when mTLS is off.
 */
export function meshClientTransport(
  mesh: MeshSettings,
  peer: MeshService,
  defaultDir: string,
  refreshMs: number,
): ClientTransport | undefined {
  const files = meshFiles(mesh, "orchestrator", defaultDir);
  if (!files) return undefined;
  return watchedChannelCredentials(files, meshName(mesh, peer), refreshMs);
}

/** `security` as the config gives it, the parts a mesh service reads. */
export interface MeshSecuritySettings {
  readonly insecure: boolean;
  readonly mesh: MeshSettings;
  readonly auth: { readonly reload_ms: number };
}

/**
 * serve() options for agent or history: mTLS admitting only the orchestrator, or plaintext when
 * mesh.mode is off — which is refused beyond loopback unless the operator said insecure.
 */
export function meshServeOptions(
  security: MeshSecuritySettings,
  service: MeshService,
  defaultDir: string,
  at: { readonly host: string; readonly port: number },
): Partial<MeshServerSecurity> {
  const secured = meshServerSecurity(security.mesh, service, defaultDir, security.auth.reload_ms);
  checkExposure({
    service,
    ...at,
    tls: secured !== undefined,
    authenticated: secured !== undefined,
    insecure: security.insecure,
  });
  return secured ?? {};
}
