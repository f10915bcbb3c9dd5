export { type Span, SpanKind, SpanStatusCode } from "@opentelemetry/api";
export * from "./propagation.js";
export * from "./rpc-spans.js";
export * from "./setup.js";
export * from "./spans.js";
