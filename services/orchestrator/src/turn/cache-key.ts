import { createHash } from "node:crypto";
import type { AgentConfig } from "@chorus/config";
import type { ContextMessage } from "../executor/agent-task.js";

/**
 * The cache key of an agent answer: persona, model, temperature, context and message, and the
 * asking principal unless the agent's cache_scope is shared — one principal never gets another's
 * cached answer.
 */
export function cacheKey(
  agent: AgentConfig,
  principalId: string,
  context: readonly ContextMessage[],
  message: string,
): string {
  const hash = createHash("sha256");
  hash.update(
    JSON.stringify([
      agent.cache_scope === "shared" ? "" : principalId,
      agent.name,
      agent.system_prompt,
      agent.model,
      agent.temperature,
      agent.max_tokens,
      context.map((m) => [m.role, m.content]),
      message,
    ]),
  );
  return `answer:${agent.name}:${hash.digest("hex")}`;
}
