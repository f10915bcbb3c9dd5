import {
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import {
  type handleBidiStreamingCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type MethodDefinition,
  type ServerDuplexStream,
  type ServerWritableStream,
  type ServiceDefinition,
  status,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { context as otel } from "@opentelemetry/api";
import type { Logger } from "pino";
import { type CallContext, deadlineDate, requestIdFrom } from "./call-context.js";
import { acceptedRequest, requestDeserializer } from "./request-decoding.js";
import { codeOf, toServiceError } from "./status.js";
import { type ActiveSpan, startServerSpan, tracesServerCalls } from "./tracing/rpc-spans.js";
import { tracingActive } from "./tracing/setup.js";
import { endRpcSpan } from "./tracing/spans.js";

type MethodShape = GenServiceMethods[string];
type Input<M extends MethodShape> = MessageShape<M["input"]>;
type OutputInit<M extends MethodShape> = MessageInitShape<M["output"]>;

/**
 * A handler for one RPC: unary handlers resolve to the response, streaming ones yield responses;
 * a bidirectional one reads the caller's messages from `requests` (each checked like a unary
 * request; a refused one throws from the iteration) while it yields its own.
 */
export type Handler<M extends MethodShape> = M["methodKind"] extends "unary"
  ? (request: Input<M>, context: CallContext) => Promise<OutputInit<M>>
  : M["methodKind"] extends "server_streaming"
    ? (request: Input<M>, context: CallContext) => AsyncIterable<OutputInit<M>>
    : M["methodKind"] extends "bidi_streaming"
      ? (requests: AsyncIterable<Input<M>>, context: CallContext) => AsyncIterable<OutputInit<M>>
      : never;

/** Handlers for every RPC of a service, keyed by the method's local name. */
export type ServiceHandlers<S> =
  S extends GenService<infer Methods> ? { [K in keyof Methods]: Handler<Methods[K]> } : never;

/** Called once per finished RPC, for metrics. */
export type RpcObserver = (method: string, code: status, seconds: number) => void;

/** Serializes a protobuf-es message into the Buffer grpc-js insists on. */
function serializer(desc: DescMessage) {
  return (message: MessageShape<DescMessage>): Buffer => {
    const bytes = toBinary(desc, message);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer(desc: DescMessage) {
  return (bytes: Buffer): MessageShape<DescMessage> => fromBinary(desc, bytes);
}

/** The grpc-js path of a method, e.g. /chorus.v1.ChatService/Chat. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/**
 * Builds the grpc-js service definition of a protobuf-es service descriptor; a server refuses a
 * request to `method` over `requestBytes(method)` bytes, and a malformed one, as a status.
 */
export function serviceDefinition(
  service: DescService,
  requestBytes: (method: DescMethod) => number = () => Number.POSITIVE_INFINITY,
): ServiceDefinition {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: methodPath(method),
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: serializer(method.input) as (value: unknown) => Buffer,
      requestDeserialize: requestDeserializer(method, requestBytes(method)),
      responseSerialize: serializer(method.output) as (value: unknown) => Buffer,
      responseDeserialize: deserializer(method.output),
      originalName: method.name,
    };
  }
  return definition;
}

interface ServerCallLike {
  metadata: import("@grpc/grpc-js").Metadata;
  getDeadline(): Date | number;
  getPeer(): string;
  on(event: "cancelled", listener: () => void): unknown;
}

function contextOf(call: ServerCallLike): CallContext {
  const controller = new AbortController();
  call.on("cancelled", () => controller.abort(new Error("call cancelled by the client")));
  return {
    signal: controller.signal,
    deadline: deadlineDate(call.getDeadline()),
    requestId: requestIdFrom(call.metadata),
    metadata: call.metadata,
    peer: call.getPeer(),
  };
}

type WritableCall = ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>;

function waitForDrain(call: WritableCall, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    call.on("drain", done);
    signal.addEventListener("abort", done);
  });
}

// The caller's messages of a bidirectional call, each checked as a unary request is. grpc-js reads
// the next one only when this iteration asks for it, so a slow handler holds back its sender. A
// plain for-await would destroy the call when the reading ends, cancelling the responses too.
async function* incoming(call: ServerDuplexStream<unknown, unknown>): AsyncIterable<unknown> {
  for await (const message of call.iterator({ destroyOnReturn: false })) yield acceptedRequest(message);
}

/**
 * Writes a streaming handler's responses, waiting for drain whenever grpc-js's buffer is full, so
 * a slow reader holds the handler back; ends the call with OK or the handler's error.
 */
async function stream(
  call: WritableCall,
  responses: (context: CallContext) => AsyncIterable<MessageInitShape<DescMessage>>,
  output: DescMessage,
  report: (code: status, context: CallContext, err?: unknown) => void,
  fail: (err: unknown, context: CallContext) => void,
): Promise<void> {
  const context = contextOf(call);
  try {
    for await (const response of responses(context)) {
      if (context.signal.aborted) break;
      if (!call.write(create(output, response))) await waitForDrain(call, context.signal);
    }
    report(context.signal.aborted ? status.CANCELLED : status.OK, context);
    if (!context.signal.aborted) call.end();
  } catch (err) {
    // A cancelled call has no one to tell; its handler's error is an expected consequence.
    if (context.signal.aborted) return report(status.CANCELLED, context);
    report(codeOf(err), context, err);
    fail(err, context);
  }
}

/** Runs `fn` with the call's server span active (so its outgoing calls join the trace), or plainly. */
function within<T>(traced: ActiveSpan | undefined, fn: () => T): T {
  return traced ? otel.with(traced.context, fn) : fn();
}

/**
 * Adapts typed async handlers to a grpc-js service implementation. Every unary and server-streaming
 * call runs inside a server span continuing the caller's W3C trace context (a no-op while tracing is off).
 */
export function implement<S extends DescService>(
  service: S,
  handlers: ServiceHandlers<S>,
  log: Logger,
  observe: RpcObserver = () => {},
): UntypedServiceImplementation {
  const implementation: UntypedServiceImplementation = {};
  const table = handlers as unknown as Record<string, (req: unknown, ctx: CallContext) => unknown>;
  for (const method of service.methods) {
    const handler = table[method.localName];
    if (!handler) throw new Error(`no handler for ${method.parent.typeName}/${method.name}`);
    const name = method.name;
    const traces = tracesServerCalls(method);
    if (method.methodKind === "unary") {
      const unary: handleUnaryCall<unknown, unknown> = (call, callback) => {
        const started = performance.now();
        const context = contextOf(call);
        const traced = traces && tracingActive() ? startServerSpan(method, call) : undefined;
        within(
          traced,
          () =>
            new Promise<MessageInitShape<DescMessage>>((resolve) =>
              resolve(
                handler(acceptedRequest(call.request), context) as Promise<MessageInitShape<DescMessage>>,
              ),
            ),
        ).then(
          (response) => {
            observe(name, status.OK, (performance.now() - started) / 1000);
            if (traced) endRpcSpan(traced.span, status.OK);
            callback(null, create(method.output, response));
          },
          (err: unknown) => {
            observe(name, codeOf(err), (performance.now() - started) / 1000);
            if (traced) endRpcSpan(traced.span, codeOf(err), err);
            callback(toServiceError(err, log.child({ requestId: context.requestId }), name));
          },
        );
      };
      implementation[method.localName] = unary;
    } else if (method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming") {
      const bidi = method.methodKind === "bidi_streaming";
      const streaming = (call: WritableCall) => {
        const started = performance.now();
        const responses = (context: CallContext) =>
          handler(
            bidi
              ? incoming(call as ServerDuplexStream<unknown, unknown>)
              : acceptedRequest((call as ServerWritableStream<unknown, unknown>).request),
            context,
          ) as AsyncIterable<MessageInitShape<DescMessage>>;
        const traced = traces && tracingActive() ? startServerSpan(method, call) : undefined;
        const report = (code: status, _context: CallContext, err?: unknown) => {
          observe(name, code, (performance.now() - started) / 1000);
          if (traced) endRpcSpan(traced.span, code, err);
        };
        const fail = (err: unknown, context: CallContext) =>
          call.emit("error", toServiceError(err, log.child({ requestId: context.requestId }), name));
        void within(traced, () => stream(call, responses, method.output, report, fail));
      };
      implementation[method.localName] = streaming as
        | handleServerStreamingCall<unknown, unknown>
        | handleBidiStreamingCall<unknown, unknown>;
    } else {
      throw new Error(`${method.parent.typeName}/${name}: client-streaming RPCs are not supported`);
    }
  }
  return implementation;
}
