import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type SecurityConfig, securitySchema } from "@chorus/config";
import { AgentService, ChatService } from "@chorus/proto";
import {
  bind,
  createClient,
  type Principal,
  type PromiseClient,
  principalOf,
  type Role,
  type RunningServer,
  serve,
} from "@chorus/shared";
import { type Metadata, status } from "@grpc/grpc-js";
import { pino } from "pino";
import { hashSecret, newApiKey } from "../api/auth/api-key.js";
import { type KeyEntry, keyEntryYaml } from "../api/auth/keys-file.js";
import { type PublicGatekeeper, publicGatekeeper } from "../api/auth/public-gatekeeper.js";

/** `security.auth` with the schema's defaults under `overrides`. */
export function authSettings(overrides: Record<string, unknown> = {}): SecurityConfig["auth"] {
  return securitySchema.parse({ auth: overrides }).auth;
}

/** A new API key and its keys-file entry. */
export function makeKey(
  principal: string,
  roles: Role[],
  extra: Partial<Pick<KeyEntry, "expiresMs" | "limits">> = {},
): { key: string; secret: string; entry: KeyEntry } {
  const { id, secret, key } = newApiKey();
  return { key, secret, entry: { id, hash: hashSecret(secret), principal, roles, ...extra } };
}

/** A keys file under a fresh temporary directory, replaced the way a Secret volume replaces it (rename). */
export class KeysFileOnDisk {
  readonly dir = mkdtempSync(join(tmpdir(), "chorus-keys-"));
  readonly path = join(this.dir, "keys.yaml");
  private writes = 0;

  /** Writes `entries` as a keys file. */
  write(entries: readonly KeyEntry[]): void {
    this.writeText(`keys:\n${entries.map(keyEntryYaml).join("\n")}\n`.replace("keys:\n\n", "keys: []\n"));
  }

  /** Writes `text` as the whole file. */
  writeText(text: string): void {
    this.writes += 1;
    const staging = join(this.dir, `.keys-${this.writes}.yaml`);
    writeFileSync(staging, text);
    renameSync(staging, this.path);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A ChatService and AgentService server behind the public gatekeeper, its clients and its log. */
export interface AuthRig {
  readonly server: RunningServer;
  readonly gatekeeper: PublicGatekeeper;
  readonly chat: PromiseClient<typeof ChatService>;
  readonly agent: PromiseClient<typeof AgentService>;
  /** Every JSON line the server logged. */
  readonly logLines: string[];
  /** The principal each handled call carried, in order. */
  readonly seen: (Principal | undefined)[];
  close(): Promise<void>;
}

/** Starts the rig on 127.0.0.1:0 with `auth` settings and `clock`. */
export async function startAuthRig(auth: SecurityConfig["auth"], clock?: () => number): Promise<AuthRig> {
  const logLines: string[] = [];
  const log = pino({ level: "debug" }, { write: (line: string) => logLines.push(line) });
  const gatekeeper = publicGatekeeper({ auth, log, clock });
  const seen: (Principal | undefined)[] = [];
  const see = (context: { metadata: Metadata }) => seen.push(principalOf(context.metadata));
  const chatHandlers = {
    chat: async (_: unknown, context: { metadata: Metadata }) => {
      see(context);
      return { turnId: "t-1" };
    },
    async *chatStream() {},
    async *batch() {},
    getStats: async (_: unknown, context: { metadata: Metadata }) => {
      see(context);
      return {};
    },
    getStatus: async () => ({}),
    async *watchScaling() {},
    scalePool: async () => ({}),
  };
  const agentHandlers = {
    generate: async () => ({}),
    async *generateStream() {},
    describe: async (_: unknown, context: { metadata: Metadata }) => {
      see(context);
      return { agent: "probe" };
    },
    async *taskChannel() {},
  };
  const server = await serve({
    host: "127.0.0.1",
    port: 0,
    log,
    gatekeeper,
    services: [bind(ChatService, chatHandlers), bind(AgentService, agentHandlers)],
  });
  const chat = createClient(ChatService, server.address);
  const agent = createClient(AgentService, server.address);
  return {
    server,
    gatekeeper,
    chat,
    agent,
    logLines,
    seen,
    async close() {
      chat.close();
      agent.close();
      gatekeeper.close();
      await server.close(200);
    },
  };
}

/** RpcOptions that carry `credential` as a bearer token, with a 5 s deadline. */
export function bearer(credential: string): { metadata: Record<string, string>; deadline: Date } {
  return { metadata: { authorization: `Bearer ${credential}` }, deadline: new Date(Date.now() + 5000) };
}

/** Resolves to the gRPC status code and details of a call that is expected to fail (OK when it succeeds). */
export async function outcome(call: Promise<unknown>): Promise<{ code: status; details: string }> {
  try {
    await call;
    return { code: status.OK, details: "" };
  } catch (err) {
    const { code, details } = err as { code: status; details: string };
    return { code, details };
  }
}
