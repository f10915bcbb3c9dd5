import { HttpError } from "./http-io.js";

/** One chat message, with its content flattened to text. */
export interface ChatMessage {
  readonly role: string;
  readonly content: string;
}

/** A validated chat completions request, reduced to what the simulator uses. */
export interface ChatRequest {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly maxTokens: number | undefined;
  /** The sampling seed asked for, if any (recorded; the simulator's text is seeded by its own seed). */
  readonly seed: number | undefined;
  readonly stream: boolean;
  readonly includeUsage: boolean;
}

/** Model name reported when a request names none. */
export const DEFAULT_MODEL = "chorus-sim";

function invalid(message: string, code = "invalid_value"): HttpError {
  return new HttpError(400, message, "invalid_request_error", code);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function textOf(content: unknown, index: number): string {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((part) => (isObject(part) && typeof part.text === "string" ? part.text : "")).join("");
  }
  throw invalid(`messages[${index}].content must be a string or an array of content parts`);
}

function messageOf(raw: unknown, index: number): ChatMessage {
  if (!isObject(raw) || typeof raw.role !== "string") {
    throw invalid(`messages[${index}] must be an object with a string role`);
  }
  return { role: raw.role, content: textOf(raw.content, index) };
}

function maxTokensOf(body: Record<string, unknown>): number | undefined {
  const value = body.max_completion_tokens ?? body.max_tokens;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw invalid("max_tokens must be a positive integer");
  }
  return value;
}

/** Parses and validates a chat completions body; throws a 400 HttpError naming the problem. */
export function parseChatRequest(text: string): ChatRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw invalid("request body is not valid JSON", "invalid_json");
  }
  if (!isObject(body)) throw invalid("request body must be a JSON object");
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    throw invalid("messages must be a non-empty array", "missing_messages");
  }
  if (body.model !== undefined && typeof body.model !== "string") throw invalid("model must be a string");
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") {
    throw invalid("stream must be a boolean");
  }
  const temperature = body.temperature;
  if (
    temperature !== undefined &&
    temperature !== null &&
    (typeof temperature !== "number" || temperature < 0 || temperature > 2)
  ) {
    throw invalid("temperature must be a number between 0 and 2");
  }
  const seed = body.seed;
  if (seed !== undefined && seed !== null && !Number.isInteger(seed))
    throw invalid("seed must be an integer");
  const streamOptions = isObject(body.stream_options) ? body.stream_options : {};
  return {
    model: typeof body.model === "string" && body.model.length > 0 ? body.model : DEFAULT_MODEL,
    messages: body.messages.map(messageOf),
    maxTokens: maxTokensOf(body),
    seed: typeof seed === "number" ? seed : undefined,
    stream: body.stream === true,
    includeUsage: streamOptions.include_usage === true,
  };
}

/** Estimated prompt tokens: about four characters per token, at least one. */
export function promptTokensOf(messages: readonly ChatMessage[]): number {
  let chars = 0;
  for (const message of messages) chars += message.content.length;
  return Math.max(1, Math.ceil(chars / 4));
}
