export * from "./backends.js";
export * from "./fixtures.js";
export * from "./postgres-server.js";
