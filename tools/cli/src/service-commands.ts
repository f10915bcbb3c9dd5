// Each service is imported only by the command that runs it, so an agent process never loads
// SQLite, Redis or Kubernetes clients (idle RSS is a benchmark target).

import type { ChorusConfig } from "@chorus/config";
import { announceReady, createLogger, stopOnSignals } from "@chorus/shared";
import { withHeapCeiling } from "./heap-flags.js";
import { intFlag } from "./options.js";

/** Flags the service subcommands understand. */
export interface ServiceFlags {
  readonly config: string | undefined;
  readonly host: string | undefined;
  readonly port: string | undefined;
  readonly "metrics-port": string | undefined;
  readonly agent: string | undefined;
  readonly "replica-id": string | undefined;
  readonly "history-address": string | undefined;
}

/** `chorus history`: the history service. */
export async function historyCommand(config: ChorusConfig, flags: ServiceFlags): Promise<void> {
  const log = createLogger("history");
  const { runHistory } = await import("@chorus/history");
  const running = await runHistory({
    config,
    host: flags.host ?? config.history.host,
    port: intFlag("port", flags.port, config.history.port),
    path: config.history.path,
    metricsPort: intFlag("metrics-port", flags["metrics-port"], config.history.metrics_port),
    log,
  });
  announceReady("history", running.address);
  stopOnSignals(log, () => running.close());
}

/** `chorus agent`: one agent replica. */
export async function agentCommand(config: ChorusConfig, flags: ServiceFlags): Promise<void> {
  const agent = flags.agent ?? config.agents[0]?.name ?? "";
  const log = createLogger(`agent-${agent}`);
  const { runAgent } = await import("@chorus/agent");
  const running = await runAgent({
    config,
    agent,
    host: flags.host ?? "127.0.0.1",
    port: intFlag("port", flags.port, 0),
    replicaId: flags["replica-id"] ?? `${agent}-${process.pid}`,
    llmBaseUrl: config.llm.base_url,
    apiKey: process.env.OPENAI_API_KEY ?? "chorus-simulator",
    metricsPort: intFlag("metrics-port", flags["metrics-port"], -1),
    log,
  });
  announceReady("agent", running.address);
  stopOnSignals(log, () => running.close());
}

/** `chorus llm-sim`: the built-in OpenAI-compatible simulator. */
export async function simulatorCommand(config: ChorusConfig, flags: ServiceFlags): Promise<void> {
  const log = createLogger("llm-sim");
  const { startSimulator } = await import("@chorus/llm-sim");
  const running = await startSimulator({
    ...config.simulator,
    host: flags.host ?? config.simulator.host,
    port: intFlag("port", flags.port, config.simulator.port),
  });
  log.info({ url: running.url }, "llm-sim serving (simulated answers)");
  if (!process.send) process.stdout.write(`llm-sim: OpenAI-compatible simulator at ${running.url}\n`);
  announceReady("llm-sim", running.url);
  stopOnSignals(log, () => running.close());
}

/** `chorus orchestrator`: the orchestrator, which starts its own agent replicas. */
export async function orchestratorCommand(
  config: ChorusConfig,
  configFile: string | undefined,
  flags: ServiceFlags,
) {
  const log = createLogger("orchestrator");
  const entry = process.argv[1] ?? "";
  const { runOrchestrator } = await import("@chorus/orchestrator");
  const running = await runOrchestrator({
    config,
    host: flags.host ?? config.orchestrator.host,
    port: intFlag("port", flags.port, config.orchestrator.port),
    metricsPort: intFlag("metrics-port", flags["metrics-port"], config.orchestrator.metrics_port),
    historyAddress:
      flags["history-address"] ?? config.history.address ?? `${config.history.host}:${config.history.port}`,
    llmBaseUrl: config.llm.base_url,
    llmApiKey: process.env.OPENAI_API_KEY ?? "chorus-simulator",
    agentCommand: {
      modulePath: entry,
      args: ["agent", ...(configFile ? ["--config", configFile] : [])],
      // A small young generation keeps idle agent replicas under 80 MB RSS (bench/results) at a
      // modest CPU cost; agents hold little live data between generations.
      execArgv: [...withHeapCeiling(process.execArgv, config.limits.heap_mb), "--max-semi-space-size=2"],
      env: process.env,
    },
    log,
  });
  announceReady("orchestrator", running.address, { metricsPort: running.metricsPort });
  stopOnSignals(log, () => running.close());
}
