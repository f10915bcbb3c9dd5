import { AgentService } from "@chorus/proto";
import type { ClientOptions } from "@grpc/grpc-js";
import { pino } from "pino";
import type { ServiceHandlers } from "./grpc-bridge.js";
import { createClient, type PromiseClient } from "./grpc-client.js";
import { bind, type RunningServer, serve } from "./server.js";

/** Handlers a bridge test may override; the rest answer with empty messages. */
export type AgentHandlers = ServiceHandlers<typeof AgentService>;

/** A real grpc-js server on 127.0.0.1:0 serving AgentService through the bridge, and a client. */
export interface BridgeRig {
  readonly server: RunningServer;
  readonly client: PromiseClient<typeof AgentService>;
  /** Every JSON line the server logged. */
  readonly logLines: string[];
  /** Opens another client to the same server. */
  connect(channelOptions?: ClientOptions): PromiseClient<typeof AgentService>;
  close(): Promise<void>;
}

/** Starts AgentService with `overrides` on a loopback port, logging into `logLines`. */
export async function startBridgeRig(overrides: Partial<AgentHandlers>): Promise<BridgeRig> {
  const logLines: string[] = [];
  const log = pino({ level: "debug" }, { write: (line: string) => logLines.push(line) });
  const handlers: AgentHandlers = {
    generate: async () => ({}),
    async *generateStream() {},
    describe: async () => ({}),
    async *taskChannel() {},
    ...overrides,
  };
  const server = await serve({ host: "127.0.0.1", port: 0, services: [bind(AgentService, handlers)], log });
  const clients: PromiseClient<typeof AgentService>[] = [];
  const connect = (channelOptions: ClientOptions = {}) => {
    const client = createClient(AgentService, server.address, channelOptions);
    clients.push(client);
    return client;
  };
  return {
    server,
    client: connect(),
    logLines,
    connect,
    async close() {
      for (const client of clients) client.close();
      await server.close(200);
    },
  };
}

/** A deadline `ms` from now (default 5 s), for calls that should never hang a test. */
export function within(ms = 5000): Date {
  return new Date(Date.now() + ms);
}

/** Resolves when `signal` aborts, or rejects after `ms`. */
export function abortedWithin(signal: AbortSignal, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(() => reject(new Error(`signal not aborted within ${ms} ms`)), ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
