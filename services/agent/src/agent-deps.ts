import type { AgentConfig } from "@chorus/config";
import type { Logger } from "@chorus/shared";
import type { AgentMetrics } from "./agent-metrics.js";
import type { Llm } from "./llm.js";
import type { ReplicaLoad } from "./replica-load.js";

/** What the AgentService handlers work with. */
export interface AgentDeps {
  readonly agent: AgentConfig;
  readonly replicaId: string;
  readonly llm: Llm;
  readonly load: ReplicaLoad;
  readonly metrics: AgentMetrics;
  readonly log: Logger;
  /** Longest model call when the caller's deadline allows more. */
  readonly llmTimeoutMs: number;
  /** Largest accepted message, in UTF-8 bytes. */
  readonly maxMessageBytes: number;
  /** Most context messages accepted with one message. */
  readonly maxContextMessages: number;
  /** Largest total of the context messages' contents, in UTF-8 bytes. */
  readonly maxContextBytes: number;
}
