export * from "./free-port.js";
export * from "./memory-tracing.js";
export * from "./otel-collector.js";
export * from "./raw-grpc.js";
export * from "./redis-server.js";
export * from "./turn-load.js";
