import { fileURLToPath } from "node:url";
import { type ChorusConfig, loadConfigOrExit, withInsecureFlag } from "@chorus/config";
import {
  announceReady,
  createLogger,
  intFlag,
  runIfMain,
  type ServiceFlags,
  startTracing,
  stopOnSignals,
  supervisorReports,
  withHeapCeiling,
} from "@chorus/shared";
import type { AgentCommand } from "./providers/local/local-provider.js";
import { runOrchestrator } from "./run-orchestrator.js";
import { historyTargets } from "./turn/history-replicas.js";

/** How agent replicas are started when the orchestrator runs from source: the agent's own main. */
function agentMainCommand(config: ChorusConfig, flags: ServiceFlags): AgentCommand {
  return {
    modulePath: fileURLToPath(import.meta.resolve("@chorus/agent/main")),
    args: [...(flags.config ? ["--config", flags.config] : []), ...(flags.insecure ? ["--insecure"] : [])],
    execArgv: ["--import", "tsx", ...withHeapCeiling([], config.limits.heap_mb)],
    env: process.env,
  };
}

/**
 * Runs the orchestrator, which starts its own agent replicas with `agentCommand` (by default the
 * agent's src/main.ts), until SIGINT, SIGTERM or the parent's exit.
 */
export async function main(
  config: ChorusConfig,
  flags: ServiceFlags,
  agentCommand: AgentCommand = agentMainCommand(config, flags),
): Promise<void> {
  const log = createLogger("orchestrator");
  const tracing = await startTracing({ service: "chorus-orchestrator" }, log);
  const historyAddresses = historyTargets(flags["history-address"], config.history);
  const running = await runOrchestrator({
    config,
    host: flags.host ?? config.orchestrator.host,
    port: intFlag("port", flags.port, config.orchestrator.port),
    metricsPort: intFlag("metrics-port", flags["metrics-port"], config.orchestrator.metrics_port),
    historyAddress: historyAddresses[0],
    historyAddresses,
    llmBaseUrl: config.llm.base_url,
    llmApiKey: process.env.OPENAI_API_KEY ?? "chorus-simulator",
    agentCommand,
    log,
    supervisor: supervisorReports(),
  });
  announceReady("orchestrator", running.address, { metricsPort: running.metricsPort });
  stopOnSignals(log, async () => {
    await running.close();
    await tracing.shutdown();
  });
}

runIfMain(import.meta.url, (flags) =>
  main(withInsecureFlag(loadConfigOrExit(flags.config), flags.insecure), flags),
);
