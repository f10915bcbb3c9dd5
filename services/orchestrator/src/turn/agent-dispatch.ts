import type { AgentConfig } from "@chorus/config";
import { type AgentTaskRequest, type AgentTaskResult, runAgentTask } from "../executor/agent-task.js";
import type { Pool } from "../executor/pool.js";

/** One agent pool as a turn sees it: the persona, and a way to run one task on its replicas. */
export interface AgentDispatch {
  readonly name: string;
  readonly agent: AgentConfig;
  /** Runs one task to completion (retries included); failures come back as a result, not thrown. */
  run(request: AgentTaskRequest): Promise<AgentTaskResult>;
}

/** The dispatch of a real pool: least-loaded replica, retried elsewhere on replica failure. */
export function poolDispatch(pool: Pool): AgentDispatch {
  return { name: pool.name, agent: pool.agent, run: (request) => runAgentTask(pool, request) };
}
