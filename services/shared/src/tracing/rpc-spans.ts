import type { DescMethod } from "@bufbuild/protobuf";
import { Metadata } from "@grpc/grpc-js";
import { type Context, context, type Span, SpanKind, trace } from "@opentelemetry/api";
import { extractMetadata, injectMetadata, sampledTraceId, TRACE_ID_KEY } from "./propagation.js";
import { tracingActive } from "./setup.js";
import { SemconvAttr, tracer } from "./spans.js";

const { rpcMethod: ATTR_RPC_METHOD, rpcSystemName: ATTR_RPC_SYSTEM_NAME } = SemconvAttr;
const { serverAddress: ATTR_SERVER_ADDRESS, serverPort: ATTR_SERVER_PORT } = SemconvAttr;

/** A span and the context in which it is the active one. */
export interface ActiveSpan {
  readonly span: Span;
  readonly context: Context;
}

/** What a server span needs of a grpc-js server call. */
interface IncomingCall {
  readonly metadata: Metadata;
  sendMetadata(metadata: Metadata): void;
}

function rpcName(method: DescMethod): string {
  return `${method.parent.typeName}/${method.name}`;
}

/** Health checks and the long-lived task channel get no server span (one span per call is for calls). */
export function tracesServerCalls(method: DescMethod): boolean {
  return method.parent.typeName !== "grpc.health.v1.Health" && method.methodKind !== "bidi_streaming";
}

/**
 * Starts the server span of an incoming call, continuing the caller's traceparent (a new trace
 * when it sent none), and sends its trace id back as initial metadata (x-chorus-trace-id) when
 * the span is sampled.
 */
export function startServerSpan(method: DescMethod, call: IncomingCall): ActiveSpan {
  const parent = extractMetadata(call.metadata);
  const span = tracer().startSpan(
    rpcName(method),
    {
      kind: SpanKind.SERVER,
      attributes: { [ATTR_RPC_SYSTEM_NAME]: "grpc", [ATTR_RPC_METHOD]: rpcName(method) },
    },
    parent,
  );
  const ctx = trace.setSpan(parent, span);
  const traceId = sampledTraceId(ctx);
  if (traceId) {
    const metadata = new Metadata();
    metadata.set(TRACE_ID_KEY, traceId);
    call.sendMetadata(metadata);
  }
  return { span, context: ctx };
}

function serverAttributes(address: string): Record<string, string | number> {
  const match = /^\[?([^\]]*)\]?:(\d+)$/.exec(address);
  if (!match) return { [ATTR_SERVER_ADDRESS]: address };
  return { [ATTR_SERVER_ADDRESS]: match[1] ?? address, [ATTR_SERVER_PORT]: Number(match[2]) };
}

/**
 * The semantic-convention attributes of a gRPC span: for one item of a long-lived stream (an
 * append on AppendTurns), which has no per-call span of its own; `address` names the server.
 */
export function rpcAttributes(rpcMethod: string, address?: string): Record<string, string | number> {
  return {
    [ATTR_RPC_SYSTEM_NAME]: "grpc",
    [ATTR_RPC_METHOD]: rpcMethod,
    ...(address === undefined ? {} : serverAttributes(address)),
  };
}

/**
 * Starts the client span of an outgoing call made inside a traced one, and writes its trace
 * context into the call's metadata. Calls made outside any span (health checks, load polling)
 * start no trace of their own and carry no trace context.
 */
export function startClientSpan(method: DescMethod, address: string, metadata: Metadata): Span | undefined {
  if (!tracingActive()) return undefined;
  const parent = context.active();
  if (!trace.getSpan(parent)) return undefined;
  const span = tracer().startSpan(
    rpcName(method),
    {
      kind: SpanKind.CLIENT,
      attributes: {
        [ATTR_RPC_SYSTEM_NAME]: "grpc",
        [ATTR_RPC_METHOD]: rpcName(method),
        ...serverAttributes(address),
      },
    },
    parent,
  );
  injectMetadata(metadata, trace.setSpan(parent, span));
  return span;
}
