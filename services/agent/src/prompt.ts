import type { ChatMessage } from "./llm.js";

/** One earlier message of the conversation, as the request carries it. */
export interface ContextTurn {
  readonly role: string;
  readonly content: string;
}

/** Builds the model prompt: the persona's system prompt, the context (oldest first), then the new message. */
export function buildMessages(
  systemPrompt: string,
  context: readonly ContextTurn[],
  message: string,
): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: "system", content: systemPrompt }];
  for (const turn of context) {
    messages.push({ role: turn.role === "assistant" ? "assistant" : "user", content: turn.content });
  }
  messages.push({ role: "user", content: message });
  return messages;
}
