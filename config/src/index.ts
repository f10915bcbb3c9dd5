export * from "./default-agents.js";
export * from "./load.js";
export * from "./pool-scaling.js";
export * from "./scaling.js";
export * from "./schema.js";
export * from "./validate-scaling.js";
