import type { AgentConfig, ChorusConfig } from "@chorus/config";
import type { Logger } from "@chorus/shared";

/** Everything one agent replica needs to start. */
export interface AgentOptions {
  readonly config: ChorusConfig;
  /** Name of the persona this replica serves; must be one of config.agents. */
  readonly agent: string;
  readonly host: string;
  /** gRPC port; 0 picks a free one. */
  readonly port: number;
  readonly replicaId: string;
  /** Base URL of the OpenAI-compatible server, ending in /v1. */
  readonly llmBaseUrl: string;
  readonly apiKey: string;
  /** Port for /metrics: -1 disables it, 0 picks a free one. */
  readonly metricsPort: number;
  readonly log?: Logger | undefined;
}

/** The persona named `name`; throws an Error listing the known names when there is none. */
export function findAgent(config: ChorusConfig, name: string): AgentConfig {
  const agent = config.agents.find((candidate) => candidate.name === name);
  if (!agent) {
    const known = config.agents.map((candidate) => candidate.name).join(", ");
    throw new Error(`unknown agent "${name}"; config defines: ${known}`);
  }
  return agent;
}
