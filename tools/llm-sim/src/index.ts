export type { ChatMessage, ChatRequest } from "./chat-request.js";
export type { SimulatorOptions } from "./options.js";
export { type RunningSimulator, type SimulatorExtras, startSimulator } from "./simulator.js";
export type { SimulatorStats } from "./stats.js";
