export type { SimulatorOptions } from "./options.js";
export { type RunningSimulator, startSimulator } from "./simulator.js";
export type { SimulatorStats } from "./stats.js";
