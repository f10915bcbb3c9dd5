export type { AgentOptions } from "./config.js";
export { findAgent } from "./config.js";
export type { ChatMessage, Llm, LlmEvent, LlmRequest, LlmResult } from "./llm.js";
export { LlmError, type LlmFailure } from "./llm-error.js";
export { OpenAiLlm, type OpenAiLlmOptions } from "./openai-llm.js";
export { buildMessages } from "./prompt.js";
export { type RunningAgent, runAgent } from "./run-agent.js";
