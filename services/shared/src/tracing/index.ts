export { type Span, SpanKind } from "@opentelemetry/api";
export * from "./propagation.js";
export * from "./rpc-spans.js";
export * from "./setup.js";
export * from "./spans.js";
