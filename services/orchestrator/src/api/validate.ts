import type { ChorusConfig } from "@chorus/config";
import { Aggregation, BatchMode, type BatchRequest, type ChatRequest } from "@chorus/proto";
import { invalidArgument, quoted, validateId } from "@chorus/shared";
import { aggregationByName } from "../turn/aggregation.js";

/** Checks a message's presence and size. */
export function validateMessage(field: string, message: string, config: ChorusConfig): void {
  if (message.trim() === "") invalidArgument(field, "must not be empty");
  const bytes = Buffer.byteLength(message, "utf8");
  const limit = config.limits.max_message_bytes;
  if (bytes > limit)
    invalidArgument(field, `is ${bytes} bytes; the limit is ${limit} (limits.max_message_bytes)`);
}

/** The agents a request selects, in configured order; INVALID_ARGUMENT for unknown or repeated names. */
export function selectAgents(field: string, requested: readonly string[], config: ChorusConfig): string[] {
  const known = config.agents.map((agent) => agent.name);
  if (requested.length === 0) return known;
  const seen = new Set<string>();
  for (const name of requested) {
    if (!known.includes(name))
      invalidArgument(field, `unknown agent ${quoted(name)} (known: ${known.join(", ")})`);
    if (seen.has(name)) invalidArgument(field, `agent ${quoted(name)} is listed twice`);
    seen.add(name);
  }
  return known.filter((name) => seen.has(name));
}

/** The aggregation a request asks for, or the configured default. */
export function resolveAggregation(requested: Aggregation, config: ChorusConfig): Aggregation {
  if (!(requested in Aggregation)) invalidArgument("aggregation", `unknown value ${requested}`);
  if (requested !== Aggregation.UNSPECIFIED) return requested;
  return aggregationByName[config.orchestrator.aggregation] ?? Aggregation.PRIORITY;
}

/** Validates a ChatRequest; returns the selected agents and aggregation. */
export function validateChat(request: ChatRequest, config: ChorusConfig) {
  if (request.conversationId !== "") validateId("conversation_id", request.conversationId);
  if (request.turnId !== "") validateId("turn_id", request.turnId);
  validateMessage("message", request.message, config);
  const agents = selectAgents("agents", request.agents, config);
  const aggregation = resolveAggregation(request.aggregation, config);
  if (
    aggregation === Aggregation.JUDGE &&
    !config.agents.some((a) => a.name === config.orchestrator.judge_agent)
  ) {
    invalidArgument(
      "aggregation",
      `judge needs orchestrator.judge_agent "${config.orchestrator.judge_agent}" to exist`,
    );
  }
  return { agents, aggregation };
}

/** The seed workflow's batch test message number `i` (from 1). */
export function seedTestMessage(i: number): string {
  return `Test message ${i}: What can you tell me about parallel processing?`;
}

/** Validates a BatchRequest; returns its messages, agents and mode. */
export function validateBatch(request: BatchRequest, config: ChorusConfig) {
  const max = config.limits.max_batch;
  if (request.messages.length > 0 && request.count > 0)
    invalidArgument("count", "give either messages or count, not both");
  if (request.messages.length === 0 && request.count === 0)
    invalidArgument("count", "must be > 0 (or give messages)");
  const size = request.messages.length || request.count;
  if (size > max)
    invalidArgument(request.count ? "count" : "messages", `${size} exceeds limits.max_batch (${max})`);
  if (!(request.mode in BatchMode)) invalidArgument("mode", `unknown value ${request.mode}`);
  const messages =
    request.messages.length > 0
      ? [...request.messages]
      : Array.from({ length: request.count }, (_, i) => seedTestMessage(i + 1));
  let total = 0;
  for (const [i, message] of messages.entries()) {
    validateMessage(`messages[${i}]`, message, config);
    total += Buffer.byteLength(message, "utf8");
  }
  const maxBytes = config.limits.max_batch_bytes;
  if (total > maxBytes)
    invalidArgument(
      "messages",
      `are ${total} bytes in all; the limit is ${maxBytes} (limits.max_batch_bytes)`,
    );
  const agents = selectAgents("agents", request.agents, config);
  return { messages, agents, fanout: request.mode === BatchMode.FANOUT };
}
