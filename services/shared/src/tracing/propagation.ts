import type { Metadata } from "@grpc/grpc-js";
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from "@opentelemetry/api";
import { tracingActive } from "./setup.js";

/**
 * Response metadata key carrying the trace id of the call (32 hex digits), sent as initial
 * metadata when the call was traced and sampled; absent when tracing is off.
 */
export const TRACE_ID_KEY = "x-chorus-trace-id";

const metadataGetter: TextMapGetter<Metadata> = {
  keys: (carrier) => Object.keys(carrier.getMap()),
  get: (carrier, key) => {
    const value = carrier.get(key)[0];
    return typeof value === "string" ? value : undefined;
  },
};

const metadataSetter: TextMapSetter<Metadata> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/** Writes the W3C trace context of `ctx` (traceparent, tracestate) into gRPC metadata. */
export function injectMetadata(metadata: Metadata, ctx?: Context): void {
  if (tracingActive()) propagation.inject(ctx ?? context.active(), metadata, metadataSetter);
}

/** The context a caller's traceparent/tracestate metadata continues; the root context when it sent none. */
export function extractMetadata(metadata: Metadata): Context {
  return tracingActive() ? propagation.extract(ROOT_CONTEXT, metadata, metadataGetter) : ROOT_CONTEXT;
}

/** The W3C trace context of `ctx` as plain headers (for a proto map or an HTTP request); {} when off. */
export function traceHeaders(ctx?: Context): Record<string, string> {
  const headers: Record<string, string> = {};
  if (tracingActive()) propagation.inject(ctx ?? context.active(), headers);
  return headers;
}

/** The context plain trace headers (a proto map) continue; the root context when they carry none. */
export function extractHeaders(headers: Readonly<Record<string, string>>): Context {
  return tracingActive() ? propagation.extract(ROOT_CONTEXT, headers) : ROOT_CONTEXT;
}

/** The trace id of `ctx`'s span when it is sampled (recorded and exported), else undefined. */
export function sampledTraceId(ctx: Context = context.active()): string | undefined {
  const span = trace.getSpan(ctx);
  if (!span?.isRecording()) return undefined;
  const { traceId, traceFlags } = span.spanContext();
  return traceFlags & 1 ? traceId : undefined;
}
