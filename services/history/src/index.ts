export * from "./page-token.js";
export * from "./run-history.js";
export * from "./service.js";
export * from "./sqlite-store.js";
export * from "./store.js";
export * from "./store-metrics.js";
export * from "./title.js";
