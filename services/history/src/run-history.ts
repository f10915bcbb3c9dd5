import { type ChorusConfig, meshDir } from "@chorus/config";
import { HistoryService, UsageService } from "@chorus/proto";
import {
  bind,
  createLogger,
  type Logger,
  Metrics,
  meshServeOptions,
  serve,
  usageHandlers,
} from "@chorus/shared";
import { openStore } from "./open-store.js";
import { historyHandlers } from "./service.js";
import { instrumentStore } from "./store-metrics.js";

/** Where and how to run the history service. */
export interface HistoryOptions {
  readonly config: ChorusConfig;
  readonly host: string;
  /** gRPC port; 0 picks a free one. */
  readonly port: number;
  /** SQLite file (backend sqlite); its directory is created if missing. */
  readonly path: string;
  /** Port of /metrics; -1 disables it, 0 picks a free one. */
  readonly metricsPort: number;
  readonly log?: Logger;
}

/** A running history service. */
export interface RunningHistory {
  readonly address: string;
  readonly port: number;
  /** Bound /metrics port, when enabled. */
  readonly metricsPort?: number;
  /** Stops serving (draining for up to `graceMs`), then closes the database. */
  close(graceMs?: number): Promise<void>;
}

/** Opens the store (history.backend) and serves HistoryService and UsageService (with health, reflection and metrics). */
export async function runHistory(options: HistoryOptions): Promise<RunningHistory> {
  const log = options.log ?? createLogger("history");
  const security = meshServeOptions(options.config.security, "history", meshDir(options.config), options);
  const { store, location } = await openStore(options.config.history, options.path, log);
  const metrics = new Metrics("history");
  const { limits } = options.config;
  const closing = new AbortController();
  const handlers = historyHandlers(
    instrumentStore(store, metrics),
    { maxMessageBytes: limits.max_message_bytes },
    {
      groupCommit: options.config.history.group_commit,
      streamMaxInFlight: options.config.history.stream_max_in_flight,
      closing: closing.signal,
      log,
    },
  );
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  let metricsServer: Awaited<ReturnType<Metrics["listen"]>> | undefined;
  try {
    server = await serve({
      host: options.host,
      port: options.port,
      // A turn is the one large request: its message, answers and metadata as the orchestrator sends it.
      services: [
        bind(HistoryService, handlers, {
          appendTurn: limits.max_turn_bytes,
          // An item is an AppendTurn plus its id and principal: one within 300 bytes of the bound
          // breaks the stream, and the orchestrator sends it (and the others in flight) unary.
          appendTurns: limits.max_turn_bytes,
        }),
        bind(UsageService, usageHandlers()),
      ],
      limits,
      log,
      metrics,
      ...security,
    });
    if (options.metricsPort >= 0)
      metricsServer = await metrics.listen(options.host, options.metricsPort, server.health);
  } catch (err) {
    await server?.close(0);
    await store.close();
    throw err;
  }
  const running = server;
  log.info(
    {
      address: running.address,
      backend: options.config.history.backend,
      store: location,
      metricsPort: metricsServer?.port,
    },
    "history ready",
  );
  return {
    address: running.address,
    port: running.port,
    ...(metricsServer ? { metricsPort: metricsServer.port } : {}),
    async close(graceMs) {
      // AppendTurns streams end once their appends are answered, instead of holding the drain.
      closing.abort();
      await running.close(graceMs);
      await metricsServer?.close();
      // Only after the server is closed: no handler can touch the database any more.
      await store.close();
    },
  };
}
