import { createHash } from "node:crypto";
import type { AgentConfig } from "@chorus/config";
import type { ContextMessage } from "../executor/agent-task.js";

/**
 * Whether an agent's answers are cached and shared by identical requests in flight: its
 * cache_policy, where auto means only deterministic generations (temperature 0 or a fixed seed),
 * so an agent that samples gives every request an answer of its own.
 */
export function cachesAnswers(agent: AgentConfig): boolean {
  if (agent.cache_policy === "always") return true;
  if (agent.cache_policy === "never") return false;
  return agent.temperature === 0 || agent.seed !== undefined;
}

/**
 * The cache key of an agent answer: everything that changes it — persona, system prompt, model,
 * temperature, seed, max tokens, context and message — and the asking principal unless the
 * agent's cache_scope is shared, so one principal never gets another's cached answer and a changed
 * persona never gets the old one's.
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
      agent.seed ?? null,
      agent.max_tokens,
      context.map((m) => [m.role, m.content]),
      message,
    ]),
  );
  return `answer:${agent.name}:${hash.digest("hex")}`;
}
