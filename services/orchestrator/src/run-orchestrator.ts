import { type ChorusConfig, meshDir } from "@chorus/config";
import { ChatService, HistoryService, UsageService } from "@chorus/proto";
import {
  bind,
  checkExposure,
  createClient,
  createLogger,
  type Logger,
  Metrics,
  meshClientTransport,
  type SupervisorReport,
  serve,
  watchedServerCredentials,
} from "@chorus/shared";
import { auditLog } from "./api/auth/audit.js";
import { publicGatekeeper } from "./api/auth/public-gatekeeper.js";
import { historyProxyHandlers } from "./api/history-proxy.js";
import { MemoryCounterStore } from "./api/limits/memory-counter-store.js";
import { PrincipalLimiter } from "./api/limits/principal-limiter.js";
import { RedisCounterStore } from "./api/limits/redis-counter-store.js";
import { chatRequestBytes } from "./api/request-limits.js";
import { chatHandlers } from "./api/service.js";
import type { Cache } from "./cache/cache.js";
import { LruCache } from "./cache/lru-cache.js";
import { RedisCache } from "./cache/redis-cache.js";
import { Pool } from "./executor/pool.js";
import { localHostLimit } from "./providers/local/host-limit.js";
import { type AgentCommand, LocalProvider } from "./providers/local/local-provider.js";
import type { Provider } from "./providers/provider.js";
import type { Leadership } from "./scaler/kubernetes-leadership.js";
import { Scaler } from "./scaler/scaler.js";
import { ScalingEvents } from "./scaler/scaling-events.js";
import { poolMetrics } from "./telemetry/metrics.js";
import { trackPoolLoad } from "./telemetry/pool-load.js";
import { Recorder } from "./telemetry/recorder.js";
import { poolDispatch } from "./turn/agent-dispatch.js";
import { historyReplicas } from "./turn/history-replicas.js";
import { InFlightAnswers } from "./turn/in-flight-answers.js";
import { InFlightTurns } from "./turn/in-flight-turns.js";
import { HISTORY_CHANNEL_OPTIONS } from "./turn/turn-history.js";

/** What the orchestrator needs to start. */
export interface OrchestratorOptions {
  readonly config: ChorusConfig;
  readonly host: string;
  readonly port: number;
  /** -1 disables /metrics, 0 picks a free port. */
  readonly metricsPort: number;
  readonly historyAddress: string;
  /** Every history replica (historyTargets); calls spread across them. Default: historyAddress. */
  readonly historyAddresses?: readonly string[] | undefined;
  readonly llmBaseUrl: string;
  readonly llmApiKey: string;
  readonly agentCommand: AgentCommand;
  readonly version?: string | undefined;
  readonly log?: Logger | undefined;
  /** The latest report of the `chorus up` that started this orchestrator, for GetStatus. */
  readonly supervisor?: (() => SupervisorReport | undefined) | undefined;
}

/** A running orchestrator. */
export interface RunningOrchestrator {
  readonly address: string;
  readonly port: number;
  readonly metricsPort: number | undefined;
  readonly pools: ReadonlyMap<string, Pool>;
  readonly provider: Provider;
  readonly scaler: Scaler;
  /** Whether this orchestrator scales the pools (always, with the local provider) or only routes. */
  readonly leadership: Leadership;
  readonly events: ScalingEvents;
  close(graceMs?: number): Promise<void>;
}

function createCache(config: ChorusConfig, log: Logger): Cache | undefined {
  if (!config.cache.enabled) return undefined;
  if (config.redis.url) {
    return new RedisCache(
      {
        url: config.redis.url,
        keyPrefix: config.redis.key_prefix,
        ttlSeconds: config.cache.ttl_seconds,
        commandTimeoutMs: config.redis.command_timeout_ms,
        outageLogIntervalMs: config.cache.outage_log_interval_ms,
      },
      log,
    );
  }
  return new LruCache(config.cache.max_entries, config.cache.ttl_seconds * 1000);
}

// Per-principal limits, counted in Redis across replicas when redis.url is set, else in this process.
function createLimiter(config: ChorusConfig, log: Logger): PrincipalLimiter {
  const store = config.redis.url
    ? new RedisCounterStore(
        {
          url: config.redis.url,
          keyPrefix: config.redis.key_prefix,
          commandTimeoutMs: config.redis.command_timeout_ms,
          outageLogIntervalMs: config.cache.outage_log_interval_ms,
        },
        log,
      )
    : new MemoryCounterStore();
  return new PrincipalLimiter(store, {
    defaults: config.security.auth.limits,
    turnTimeoutMs: config.orchestrator.turn_timeout_ms,
  });
}

// Waits until every pool that launched blocks at start has one RUNNING; pools started empty need none.
function waitForReplicas(pools: ReadonlyMap<string, Pool>, timeoutMs: number): Promise<boolean> {
  const starting = [...pools.values()].filter((pool) => pool.blocks.size > 0);
  const ready = () => starting.every((pool) => (pool.countByState().RUNNING ?? 0) > 0);
  return new Promise((resolve) => {
    if (ready()) return resolve(true);
    const timer = setTimeout(() => resolve(false), timeoutMs);
    for (const pool of starting) {
      pool.onChange(() => {
        if (ready()) {
          clearTimeout(timer);
          resolve(true);
        }
      });
    }
  });
}

// With the local provider this orchestrator is alone with its pools, so it always scales them.
function soleLeadership(scaler: Scaler): Leadership {
  scaler.start();
  return {
    status: () => ({ healthy: true, detail: "leader (local provider: this orchestrator scales its pools)" }),
    close: async () => {},
  };
}

/** Starts the agent pools, the cache and the ChatService server. */
export async function runOrchestrator(options: OrchestratorOptions): Promise<RunningOrchestrator> {
  const { config } = options;
  const log = options.log ?? createLogger("orchestrator");
  const agents = config.agents;
  const { security } = config;
  // Before anything starts: a missing keys file or certificate fails here, with its path.
  const audit = auditLog(log);
  const gatekeeper = publicGatekeeper({ auth: security.auth, log, audit });
  const authEnabled = gatekeeper.authenticates;
  const publicTls = security.tls.cert_file !== "";
  checkExposure({
    service: "orchestrator",
    host: options.host,
    port: options.port,
    tls: publicTls,
    authenticated: authEnabled,
    insecure: security.insecure,
  });
  const credentials = publicTls
    ? watchedServerCredentials(
        {
          cert_file: security.tls.cert_file,
          key_file: security.tls.key_file,
          ca_file: security.tls.client_ca_file,
        },
        security.tls.client_auth,
        security.auth.reload_ms,
      )
    : undefined;
  const mesh = {
    agent: meshClientTransport(security.mesh, "agent", meshDir(config), security.auth.reload_ms),
    history: meshClientTransport(security.mesh, "history", meshDir(config), security.auth.reload_ms),
  };
  const channels = {
    transport: mesh.agent,
    heartbeatMs: config.orchestrator.heartbeat_ms,
    heartbeatTimeoutMs: config.orchestrator.heartbeat_timeout_ms,
    log,
  };
  const pools = new Map(
    agents.map((agent) => [agent.name, new Pool(agent, config.orchestrator.queue_limit, channels)]),
  );
  // Loaded only for its provider: the Kubernetes client is a good part of a local (re)start's time.
  const kubernetes =
    config.provider.kind === "kubernetes"
      ? (await import("./scaler/kubernetes-leadership.js")).kubernetesSetup(config, agents, log)
      : undefined;
  const provider: Provider =
    kubernetes?.provider ??
    new LocalProvider(
      options.agentCommand,
      config.orchestrator.agent_start_timeout_ms,
      log,
      mesh.agent,
      localHostLimit(config.provider.local),
    );
  // A replica that stops answering on its task channel is ended as failed, so the scaler replaces it.
  for (const pool of pools.values()) pool.onLost((blockId, reason) => provider.fail?.(blockId, reason));
  const events = new ScalingEvents();
  const metrics = new Metrics("orchestrator");
  poolMetrics(metrics, pools, events);
  const recorder = new Recorder(metrics.registry, {
    windowMs: config.orchestrator.stats_window_seconds * 1000,
  });
  for (const pool of pools.values()) trackPoolLoad(pool, recorder);
  const scaler = new Scaler(pools, provider, events, { log });
  const leadership = kubernetes ? await kubernetes.start(scaler, pools) : soleLeadership(scaler);
  const { historyAddress } = options;
  const history = historyReplicas(options.historyAddresses ?? [historyAddress], {
    channelOptions: HISTORY_CHANNEL_OPTIONS,
    transport: mesh.history,
    streamMaxInFlight: config.history.stream_max_in_flight,
    log,
  });
  const historyUsage = createClient(UsageService, historyAddress, HISTORY_CHANNEL_OPTIONS, mesh.history);
  const cache = createCache(config, log);
  const limiter = createLimiter(config, log);
  const deps = {
    config,
    pools: new Map([...pools].map(([name, pool]) => [name, poolDispatch(pool)])),
    history: history.turnHistory(),
    cache,
    recorder,
    log,
    turns: new InFlightTurns(),
    answers: new InFlightAnswers(),
  };
  const sources = {
    config,
    pools,
    cache,
    historyAddress: options.historyAddress,
    historyTransport: mesh.history,
    llmBaseUrl: options.llmBaseUrl,
    llmApiKey: options.llmApiKey,
    version: options.version ?? "dev",
    settingsOf: (pool: Pool) => scaler.pool(pool.name)?.settings ?? pool.agent.scaling,
    scaler: () => ({ name: "scaler", ...leadership.status() }),
    supervisor: options.supervisor,
  };
  const server = await serve({
    host: options.host,
    port: options.port,
    log,
    metrics,
    limits: config.limits,
    services: [
      bind(
        ChatService,
        chatHandlers(
          deps,
          sources,
          { scaler, events },
          { recorder, pools, historyAddress, historyUsage },
          { authEnabled, audit, limiter },
        ),
        chatRequestBytes(config.limits),
      ),
      bind(HistoryService, historyProxyHandlers(history, config.history.timeout_ms, { authEnabled, audit })),
    ],
    credentials,
    gatekeeper,
  });
  const metricsServer =
    options.metricsPort >= 0
      ? await metrics.listen(options.host, options.metricsPort, server.health)
      : undefined;
  // Serving before the replicas are: a restarted orchestrator takes turns again at once (they wait
  // in the pools' queues); the caller announces it ready only once each pool has a replica.
  const allReady = await waitForReplicas(pools, config.orchestrator.agent_start_timeout_ms);
  if (!allReady) log.warn("some agent pools have no running replica yet; turns for them will wait or fail");
  log.info({ address: server.address, metricsPort: metricsServer?.port }, "orchestrator serving");
  return {
    address: server.address,
    port: server.port,
    metricsPort: metricsServer?.port,
    pools,
    provider,
    scaler,
    leadership,
    events,
    async close(graceMs = 5000) {
      scaler.close();
      await leadership.close();
      // WatchScaling streams never end on their own; end them so the server can drain.
      events.close();
      await server.close(graceMs);
      gatekeeper.close();
      for (const pool of pools.values()) pool.rejectAll(new Error("orchestrator shutting down"));
      await provider.close();
      // Pods outlive this orchestrator; their channels must not keep the process alive.
      for (const pool of pools.values()) {
        for (const block of pool.blocks.values()) {
          block.channel?.close();
          block.client?.close();
        }
      }
      await metricsServer?.close();
      await cache?.close();
      await limiter.close();
      history.close();
      historyUsage.close();
    },
  };
}
