import type { Turn } from "@chorus/proto";
import type { ContextMessage } from "../executor/agent-task.js";

/** A rough token estimate (about four characters per token) for bounding context. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** The recent turns as chat messages, oldest first, keeping the newest that fit in `maxTokens`. */
export function buildContext(turns: readonly Turn[], maxTurns: number, maxTokens: number): ContextMessage[] {
  const kept: ContextMessage[][] = [];
  let budget = maxTokens;
  for (const turn of turns.slice(-maxTurns || turns.length).reverse()) {
    if (maxTurns === 0) break;
    const cost = estimateTokens(turn.message) + estimateTokens(turn.answer);
    if (cost > budget) break;
    budget -= cost;
    kept.push([
      { role: "user", content: turn.message },
      { role: "assistant", content: turn.answer },
    ]);
  }
  return kept.reverse().flat();
}
