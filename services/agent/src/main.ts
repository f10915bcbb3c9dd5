import { type ChorusConfig, loadConfigOrExit, withInsecureFlag } from "@chorus/config";
import {
  announceReady,
  createLogger,
  intFlag,
  runIfMain,
  type ServiceFlags,
  startTracing,
  stopOnSignals,
} from "@chorus/shared";
import { runAgent } from "./run-agent.js";

/** Runs one agent replica of the pool named by --agent until SIGINT, SIGTERM or the parent's exit. */
export async function main(config: ChorusConfig, flags: ServiceFlags): Promise<void> {
  const agent = flags.agent ?? config.agents[0]?.name ?? "";
  const log = createLogger(`agent-${agent}`);
  const replicaId = flags["replica-id"] ?? `${agent}-${process.pid}`;
  const attributes = { "chorus.agent": agent };
  const tracing = await startTracing({ service: "chorus-agent", instance: replicaId, attributes }, log);
  const running = await runAgent({
    config,
    agent,
    host: flags.host ?? "127.0.0.1",
    port: intFlag("port", flags.port, 0),
    replicaId,
    llmBaseUrl: config.llm.base_url,
    apiKey: process.env.OPENAI_API_KEY ?? "chorus-simulator",
    metricsPort: intFlag("metrics-port", flags["metrics-port"], -1),
    log,
  });
  announceReady("agent", running.address);
  stopOnSignals(log, async () => {
    await running.close();
    await tracing.shutdown();
  });
}

runIfMain(import.meta.url, (flags) =>
  main(withInsecureFlag(loadConfigOrExit(flags.config), flags.insecure), flags),
);
