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
import { startSimulator } from "./simulator.js";

/** Runs the built-in OpenAI-compatible simulator until SIGINT, SIGTERM or the parent's exit. */
export async function main(config: ChorusConfig, flags: ServiceFlags): Promise<void> {
  const log = createLogger("llm-sim");
  const tracing = await startTracing({ service: "chorus-llm-sim" }, log);
  const running = await startSimulator({
    ...config.simulator,
    host: flags.host ?? config.simulator.host,
    port: intFlag("port", flags.port, config.simulator.port),
  });
  log.info({ url: running.url }, "llm-sim serving (simulated answers)");
  if (!process.send) process.stdout.write(`llm-sim: OpenAI-compatible simulator at ${running.url}\n`);
  announceReady("llm-sim", running.url);
  stopOnSignals(log, async () => {
    await running.close();
    await tracing.shutdown();
  });
}

runIfMain(import.meta.url, (flags) =>
  main(withInsecureFlag(loadConfigOrExit(flags.config), flags.insecure), flags),
);
