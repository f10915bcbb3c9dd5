import { status as grpcStatus } from "@grpc/grpc-js";
import {
  type Attributes,
  type Context,
  context,
  type Span,
  type SpanOptions,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { codeOf, detailsOf } from "../status.js";
import { tracingActive } from "./setup.js";

/** The span every helper hands out while tracing is off: records nothing. */
const NO_SPAN = trace.wrapSpanContext({ traceId: "0".repeat(32), spanId: "0".repeat(16), traceFlags: 0 });

/**
 * Semantic-convention attribute names (OpenTelemetry semantic conventions 1.45, stable where
 * marked), spelled out so a process without tracing need not load the conventions package.
 */
export const SemconvAttr = {
  /** Stable. */
  rpcSystemName: "rpc.system.name",
  /** Stable: the full method, chorus.v1.ChatService/Chat. */
  rpcMethod: "rpc.method",
  /** Stable: the gRPC status code's name, OK, UNAVAILABLE, ... */
  rpcStatusCode: "rpc.status_code",
  serverAddress: "server.address",
  serverPort: "server.port",
  errorType: "error.type",
  genAiOperationName: "gen_ai.operation.name",
  genAiProviderName: "gen_ai.provider.name",
  genAiRequestModel: "gen_ai.request.model",
  genAiRequestTemperature: "gen_ai.request.temperature",
  genAiRequestMaxTokens: "gen_ai.request.max_tokens",
  genAiRequestStream: "gen_ai.request.stream",
  genAiResponseModel: "gen_ai.response.model",
  genAiInputTokens: "gen_ai.usage.input_tokens",
  genAiOutputTokens: "gen_ai.usage.output_tokens",
  dbSystemName: "db.system.name",
  dbOperationName: "db.operation.name",
} as const;

/** Chorus's own span attributes (`chorus.*`); the rest follow the OpenTelemetry semantic conventions. */
export const ChorusAttr = {
  conversationId: "chorus.conversation.id",
  turnId: "chorus.turn.id",
  agents: "chorus.agents",
  agent: "chorus.agent",
  aggregation: "chorus.aggregation",
  cached: "chorus.cached",
  replayed: "chorus.replayed",
  answeredBy: "chorus.answered_by",
  pool: "chorus.pool",
  attempt: "chorus.attempt",
  attempts: "chorus.attempts",
  hedged: "chorus.hedged",
  hedgeWon: "chorus.hedge_won",
  outcome: "chorus.outcome",
  replica: "chorus.replica",
  replicaId: "chorus.replica.id",
  stream: "chorus.stream",
  promptTokens: "chorus.tokens.prompt",
  completionTokens: "chorus.tokens.completion",
  cacheHit: "chorus.cache.hit",
} as const;

/** The tracer every Chorus span comes from (the API's no-op one while tracing is off). */
export function tracer(): Tracer {
  return trace.getTracer("chorus");
}

const MAX_STATUS_MESSAGE = 200;

/** Marks `span` failed with `err`: status ERROR and a short message, the gRPC code when there is one. */
export function failSpan(span: Span, err: unknown): void {
  const code = codeOf(err);
  const message = detailsOf(err);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: message.length > MAX_STATUS_MESSAGE ? `${message.slice(0, MAX_STATUS_MESSAGE)}…` : message,
  });
  span.setAttribute(SemconvAttr.errorType, grpcStatus[code] ?? "UNKNOWN");
}

/** Ends a span of a gRPC call with its status code (rpc.status_code); an error code marks it failed. */
export function endRpcSpan(span: Span, code: grpcStatus, err?: unknown): void {
  span.setAttribute(SemconvAttr.rpcStatusCode, grpcStatus[code] ?? String(code));
  if (code !== grpcStatus.OK) {
    if (err === undefined) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: grpcStatus[code] ?? String(code) });
      span.setAttribute(SemconvAttr.errorType, grpcStatus[code] ?? "UNKNOWN");
    } else failSpan(span, err);
  }
  span.end();
}

/**
 * Runs `fn` inside a new span (a child of `parent`, by default the active context): the span is
 * active for everything `fn` awaits, marked failed if `fn` throws, and ended when it settles.
 */
export async function inSpan<T>(
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T>,
  parent?: Context,
): Promise<T> {
  if (!tracingActive()) return fn(NO_SPAN);
  const span = tracer().startSpan(name, options, parent ?? context.active());
  try {
    return await context.with(trace.setSpan(parent ?? context.active(), span), () => fn(span));
  } catch (err) {
    failSpan(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Starts a span under the active context without making it active, for work that is not one
 * awaited function (a stream); returns it and the context in which it is the parent. End it yourself.
 */
export function startSpan(name: string, options: SpanOptions): { span: Span; context: Context } {
  if (!tracingActive()) return { span: NO_SPAN, context: context.active() };
  const parent = context.active();
  const span = tracer().startSpan(name, options, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** Sets only the attributes whose values are defined. */
export function setAttributes(span: Span, attributes: Attributes): void {
  if (!span.isRecording()) return;
  for (const [key, value] of Object.entries(attributes))
    if (value !== undefined) span.setAttribute(key, value);
}
