import { invalidArgument, quoted } from "@chorus/shared";
import type { AgentDeps } from "./agent-deps.js";
import type { GenerationRequest } from "./generation.js";

type Limits = Pick<AgentDeps, "maxMessageBytes" | "maxContextMessages" | "maxContextBytes">;

/** Throws INVALID_ARGUMENT for an empty or oversized message or context, naming the limit. */
export function validate(request: GenerationRequest, limits: Limits): void {
  if (request.message.trim().length === 0) invalidArgument("message", "must not be empty");
  if (Buffer.byteLength(request.message) > limits.maxMessageBytes) {
    invalidArgument("message", `must be at most ${limits.maxMessageBytes} bytes`);
  }
  const { context } = request;
  if (context.length > limits.maxContextMessages) {
    invalidArgument(
      "context",
      `has ${context.length} messages; the limit is ${limits.maxContextMessages} (limits.max_context_messages)`,
    );
  }
  let bytes = 0;
  for (const [index, turn] of context.entries()) {
    if (turn.role !== "user" && turn.role !== "assistant") {
      invalidArgument(`context[${index}].role`, `must be "user" or "assistant", not ${quoted(turn.role)}`);
    }
    bytes += Buffer.byteLength(turn.content);
  }
  if (bytes > limits.maxContextBytes) {
    invalidArgument(
      "context",
      `is ${bytes} bytes in all; the limit is ${limits.maxContextBytes} (limits.max_context_bytes)`,
    );
  }
}
