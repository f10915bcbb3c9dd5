import type { Turn } from "@chorus/proto";
import type { ContextMessage } from "../executor/agent-task.js";

/** A rough token estimate (about four characters per token) for bounding context. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** What an agent accepts as context with one message: `limits.max_context_messages` and `max_context_bytes`. */
export interface ContextLimits {
  readonly max_context_messages: number;
  readonly max_context_bytes: number;
}

/**
 * The recent turns as chat messages, oldest first, keeping the newest that fit in `maxTokens` and
 * in what agents accept (`limits`), so a long conversation never gets its turn refused.
 */
export function buildContext(
  turns: readonly Turn[],
  maxTurns: number,
  maxTokens: number,
  limits?: ContextLimits,
): ContextMessage[] {
  const kept: ContextMessage[][] = [];
  let budget = maxTokens;
  let bytes = 0;
  const maxMessages = limits?.max_context_messages ?? Number.POSITIVE_INFINITY;
  const maxBytes = limits?.max_context_bytes ?? Number.POSITIVE_INFINITY;
  for (const turn of turns.slice(-maxTurns || turns.length).reverse()) {
    if (maxTurns === 0) break;
    const cost = estimateTokens(turn.message) + estimateTokens(turn.answer);
    const size = Buffer.byteLength(turn.message) + Buffer.byteLength(turn.answer);
    if (cost > budget || (kept.length + 1) * 2 > maxMessages || bytes + size > maxBytes) break;
    budget -= cost;
    bytes += size;
    kept.push([
      { role: "user", content: turn.message },
      { role: "assistant", content: turn.answer },
    ]);
  }
  return kept.reverse().flat();
}
