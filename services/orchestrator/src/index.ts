export type { AgentCommand } from "./providers/local/local-provider.js";
export { type OrchestratorOptions, type RunningOrchestrator, runOrchestrator } from "./run-orchestrator.js";
