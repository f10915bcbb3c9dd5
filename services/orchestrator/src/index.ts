export type { AgentCommand } from "./local-provider.js";
export { type OrchestratorOptions, type RunningOrchestrator, runOrchestrator } from "./run-orchestrator.js";
