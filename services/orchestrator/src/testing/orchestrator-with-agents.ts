import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ChorusConfig, validateConfig } from "@chorus/config";
import { runHistory } from "@chorus/history";
import type { Logger } from "@chorus/shared";
import { type RunningOrchestrator, runOrchestrator } from "../run-orchestrator.js";

/** What a test needs to run an orchestrator on loopback whose agents are real processes. */
export interface OrchestratorWithAgents {
  readonly config: ChorusConfig;
  /** The config file the agent processes read (the same settings as `config`). */
  readonly configPath: string;
  readonly historyAddress: string;
  readonly llmBaseUrl: string;
  readonly log: Logger;
  /** LOG_LEVEL of the agent processes. */
  readonly agentLogLevel?: string | undefined;
}

/** Starts an orchestrator on a free loopback port that forks its agents from the agent's own src/main.ts. */
export function startOrchestratorWithAgents(options: OrchestratorWithAgents): Promise<RunningOrchestrator> {
  return runOrchestrator({
    config: options.config,
    host: "127.0.0.1",
    port: 0,
    metricsPort: -1,
    historyAddress: options.historyAddress,
    llmBaseUrl: options.llmBaseUrl,
    llmApiKey: "sim",
    agentCommand: {
      modulePath: fileURLToPath(import.meta.resolve("@chorus/agent/main")),
      args: ["--config", options.configPath],
      execArgv: ["--import", "tsx"],
      env: { ...process.env, LOG_LEVEL: options.agentLogLevel ?? "warn" },
    },
    log: options.log,
  });
}

/** A test's settings validated and written where the agent processes read them, and a history on SQLite beside them. */
export async function startConfigAndHistory(raw: Record<string, unknown>, dir: string, log: Logger) {
  const config = validateConfig(raw, "(test)");
  const configPath = join(dir, "chorus.yaml");
  writeFileSync(configPath, JSON.stringify(raw));
  const history = await runHistory({
    config,
    host: "127.0.0.1",
    port: 0,
    path: join(dir, "h.db"),
    metricsPort: -1,
    log,
  });
  return { config, configPath, history };
}
