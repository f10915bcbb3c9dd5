// Each service's main is imported only by the command that runs it, so an agent process never
// loads SQLite, Redis or Kubernetes clients (idle RSS is a benchmark target).
import type { ChorusConfig } from "@chorus/config";
import { type ServiceFlags, withHeapCeiling } from "@chorus/shared";

export type { ServiceFlags };

/** `chorus history`: the history service. */
export async function historyCommand(config: ChorusConfig, flags: ServiceFlags): Promise<void> {
  const { main } = await import("@chorus/history/main");
  await main(config, flags);
}

/** `chorus agent`: one agent replica. */
export async function agentCommand(config: ChorusConfig, flags: ServiceFlags): Promise<void> {
  const { main } = await import("@chorus/agent/main");
  await main(config, flags);
}

/** `chorus llm-sim`: the built-in OpenAI-compatible simulator. */
export async function simulatorCommand(config: ChorusConfig, flags: ServiceFlags): Promise<void> {
  const { main } = await import("@chorus/llm-sim/main");
  await main(config, flags);
}

/** `chorus orchestrator`: the orchestrator, which starts its agent replicas through this CLI. */
export async function orchestratorCommand(
  config: ChorusConfig,
  configFile: string | undefined,
  flags: ServiceFlags,
): Promise<void> {
  const { main } = await import("@chorus/orchestrator/main");
  await main(config, flags, {
    modulePath: process.argv[1] ?? "",
    args: [
      "agent",
      ...(configFile ? ["--config", configFile] : []),
      ...(flags.insecure ? ["--insecure"] : []),
    ],
    // A small young generation keeps idle agent replicas under 80 MB RSS (bench/results) at a
    // modest CPU cost; agents hold little live data between generations.
    execArgv: [...withHeapCeiling(process.execArgv, config.limits.heap_mb), "--max-semi-space-size=2"],
    env: process.env,
  });
}
