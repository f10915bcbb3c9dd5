import { meshDir } from "@chorus/config";
import { AgentService } from "@chorus/proto";
import { bind, createLogger, Metrics, meshServeOptions, serve } from "@chorus/shared";
import { AgentMetrics } from "./agent-metrics.js";
import { withBreaker } from "./breaker-llm.js";
import { type AgentOptions, findAgent } from "./config.js";
import { OpenAiLlm } from "./openai-llm.js";
import { ReplicaLoad } from "./replica-load.js";
import { agentRequestBytes } from "./request-limits.js";
import { agentHandlers } from "./service.js";
import { TaskChannels } from "./task-channels.js";

/** A running agent replica. */
export interface RunningAgent {
  /** host:port of the gRPC server. */
  readonly address: string;
  readonly port: number;
  /** Port of /metrics, when enabled. */
  readonly metricsPort?: number | undefined;
  /** Stops serving: NOT_SERVING, drain, then force-close after `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

/** Starts one agent replica serving chorus.v1.AgentService for the persona `options.agent`. */
export async function runAgent(options: AgentOptions): Promise<RunningAgent> {
  const agent = findAgent(options.config, options.agent);
  const log = (options.log ?? createLogger("agent")).child({
    agent: agent.name,
    replicaId: options.replicaId,
  });
  const metrics = new Metrics("agent");
  const llmTimeoutMs = options.config.llm.timeout_ms;
  const { limits } = options.config;
  const deps = {
    agent,
    replicaId: options.replicaId,
    llm: withBreaker(
      new OpenAiLlm({ baseUrl: options.llmBaseUrl, apiKey: options.apiKey, timeoutMs: llmTimeoutMs }),
      options.llmBaseUrl,
      options.config.llm.breaker,
      log,
    ),
    load: new ReplicaLoad(agent.workers),
    metrics: new AgentMetrics(metrics.registry, agent.name),
    log,
    llmTimeoutMs,
    maxMessageBytes: limits.max_message_bytes,
    maxContextMessages: limits.max_context_messages,
    maxContextBytes: limits.max_context_bytes,
  };
  const channels = new TaskChannels(deps);
  const handlers = agentHandlers(deps, channels);
  const server = await serve({
    host: options.host,
    port: options.port,
    services: [bind(AgentService, handlers, agentRequestBytes(limits))],
    limits,
    log,
    metrics,
    ...meshServeOptions(options.config.security, "agent", meshDir(options.config), options),
  });
  let metricsServer: Awaited<ReturnType<Metrics["listen"]>> | undefined;
  try {
    if (options.metricsPort >= 0)
      metricsServer = await metrics.listen(options.host, options.metricsPort, server.health);
  } catch (err) {
    await server.close(0);
    throw err;
  }
  log.info({ address: server.address, metricsPort: metricsServer?.port }, "agent serving");
  return {
    address: server.address,
    port: server.port,
    metricsPort: metricsServer?.port,
    close: async (graceMs) => {
      // Task channels never end by themselves; each ends once its running tasks are done.
      channels.close();
      await server.close(graceMs);
      await metricsServer?.close();
    },
  };
}
