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
import { runHistory } from "./run-history.js";

/** Runs the history service from config and flags until SIGINT, SIGTERM or the parent's exit. */
export async function main(config: ChorusConfig, flags: ServiceFlags): Promise<void> {
  const log = createLogger("history");
  const tracing = await startTracing({ service: "chorus-history" }, log);
  const running = await runHistory({
    config,
    host: flags.host ?? config.history.host,
    port: intFlag("port", flags.port, config.history.port),
    path: config.history.path,
    metricsPort: intFlag("metrics-port", flags["metrics-port"], config.history.metrics_port),
    log,
  });
  announceReady("history", running.address, { metricsPort: running.metricsPort });
  stopOnSignals(log, async () => {
    await running.close();
    await tracing.shutdown();
  });
}

runIfMain(import.meta.url, (flags) =>
  main(withInsecureFlag(loadConfigOrExit(flags.config), flags.insecure), flags),
);
