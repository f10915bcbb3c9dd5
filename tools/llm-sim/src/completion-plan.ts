import type { ChatRequest } from "./chat-request.js";
import { promptTokensOf } from "./chat-request.js";
import type { Usage } from "./sse.js";
import { simulatedWords } from "./text.js";

/** Everything about one answer that is decided before the first token is sent. */
export interface CompletionPlan {
  readonly id: string;
  readonly created: number;
  readonly model: string;
  /** One entry per simulated token; all but the first carry their leading space. */
  readonly tokens: readonly string[];
  readonly finishReason: "stop" | "length";
  readonly usage: Usage;
  readonly includeUsage: boolean;
}

function lastUserMessage(request: ChatRequest): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i];
    if (message?.role === "user") return message.content;
  }
  return "";
}

function systemPromptOf(request: ChatRequest): string {
  return request.messages
    .filter((message) => message.role === "system" || message.role === "developer")
    .map((message) => message.content)
    .join("\n");
}

/** Plans the answer to `request`: deterministic text of min(tokens, max_tokens) words. */
export function planCompletion(
  request: ChatRequest,
  seed: number,
  tokens: number,
  id: string,
): CompletionPlan {
  const count = Math.min(tokens, request.maxTokens ?? tokens);
  const words = simulatedWords(
    { seed, systemPrompt: systemPromptOf(request), userMessage: lastUserMessage(request) },
    count,
  );
  const promptTokens = promptTokensOf(request.messages);
  return {
    id,
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    tokens: words.map((word, index) => (index === 0 ? word : ` ${word}`)),
    finishReason: count < tokens ? "length" : "stop",
    usage: { prompt_tokens: promptTokens, completion_tokens: count, total_tokens: promptTokens + count },
    includeUsage: request.includeUsage,
  };
}
