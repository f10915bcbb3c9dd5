import {
  create,
  type DescMessage,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import {
  type CallOptions,
  type ChannelCredentials,
  Client,
  type ClientOptions,
  credentials,
  Metadata,
  status,
} from "@grpc/grpc-js";
import { REQUEST_ID_KEY } from "./call-context.js";
import { methodPath } from "./grpc-bridge.js";
import { codeOf, RpcError } from "./status.js";
import { injectMetadata } from "./tracing/propagation.js";
import { startClientSpan } from "./tracing/rpc-spans.js";
import { endRpcSpan } from "./tracing/spans.js";

/** Per-call options: every outgoing call should carry a deadline. */
export interface RpcOptions {
  /** Absolute deadline of the call. */
  deadline?: Date | undefined;
  /** Cancels the call when aborted. */
  signal?: AbortSignal | undefined;
  /** Request id to forward in metadata. */
  requestId?: string | undefined;
  /** More metadata to send (e.g. the principal a trusted orchestrator acts for). */
  metadata?: Readonly<Record<string, string>> | undefined;
  /** Wait (within the deadline) for the channel to connect instead of failing at once while it cannot. */
  waitForReady?: boolean | undefined;
  /** Called with the server's initial metadata (e.g. x-chorus-trace-id) when it arrives. */
  onMetadata?: ((metadata: Metadata) => void) | undefined;
}

/** Options of a bidirectional call. */
export interface BidiOptions extends RpcOptions {
  /** Most messages `write` lets wait in the call's buffer before it refuses more (default 1024). */
  maxBuffered?: number | undefined;
}

/**
 * One bidirectional call: iterate it for the server's messages (a failed call throws its status),
 * `write` to send. grpc-js buffers what the connection cannot take yet; `write` returning false
 * says the buffer is full and the caller should await `drained()` before writing more.
 */
export interface BidiCall<I, O> extends AsyncIterable<O> {
  /** Sends a message; false when the caller should wait for drained(). Throws once maxBuffered wait. */
  write(message: I): boolean;
  /** Resolves when the buffer has room again (at once if it has), or when the call ends. */
  drained(): Promise<void>;
  /** Half-closes: this side sends nothing more; the server may still answer. */
  end(): void;
  /** Cancels the call. */
  cancel(): void;
}

/** How a client reaches its server: TLS credentials and the options that pin the server's name. */
export interface ClientTransport {
  readonly credentials: ChannelCredentials;
  readonly channelOptions: ClientOptions;
}

type MethodShape = GenServiceMethods[string];
type ClientMethod<M extends MethodShape> = M["methodKind"] extends "unary"
  ? (request: MessageInitShape<M["input"]>, options?: RpcOptions) => Promise<MessageShape<M["output"]>>
  : M["methodKind"] extends "server_streaming"
    ? (
        request: MessageInitShape<M["input"]>,
        options?: RpcOptions,
      ) => AsyncIterable<MessageShape<M["output"]>>
    : M["methodKind"] extends "bidi_streaming"
      ? (options?: BidiOptions) => BidiCall<MessageInitShape<M["input"]>, MessageShape<M["output"]>>
      : never;

/** A typed promise client for a protobuf-es service, plus close(). */
export type PromiseClient<S> = (S extends GenService<infer Methods>
  ? { [K in keyof Methods]: ClientMethod<Methods[K]> }
  : never) & {
  close(): void;
  readonly address: string;
  /** The TLS transport it was made with, for a fresh client to the same server. */
  readonly transport?: ClientTransport | undefined;
};

function encode(desc: DescMessage, init: MessageInitShape<DescMessage>): Buffer {
  const bytes = toBinary(desc, create(desc, init));
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function metadataOf(options: RpcOptions | undefined): Metadata {
  const metadata = new Metadata();
  if (options?.requestId) metadata.set(REQUEST_ID_KEY, options.requestId);
  for (const [key, value] of Object.entries(options?.metadata ?? {})) metadata.set(key, value);
  if (options?.waitForReady) metadata.setOptions({ waitForReady: true });
  return metadata;
}

function callOptionsOf(options: RpcOptions | undefined): CallOptions {
  return options?.deadline ? { deadline: options.deadline } : {};
}

const DEFAULT_MAX_BUFFERED = 1024;

function bidiCall(
  client: Client,
  path: string,
  serialize: (value: MessageInitShape<DescMessage>) => Buffer,
  decode: (bytes: Buffer) => unknown,
  options: BidiOptions | undefined,
): BidiCall<MessageInitShape<DescMessage>, unknown> {
  const metadata = metadataOf(options);
  // A channel opened inside a traced call carries its context; it gets no span of its own.
  injectMetadata(metadata);
  const call = client.makeBidiStreamRequest(path, serialize, decode, metadata, callOptionsOf(options));
  const maxBuffered = options?.maxBuffered ?? DEFAULT_MAX_BUFFERED;
  let ended = false;
  const stop = () => {
    ended = true;
    call.cancel();
  };
  // An error is read by whoever iterates; without a listener it would crash the process.
  call.on("error", () => {});
  call.on("close", () => {
    ended = true;
    options?.signal?.removeEventListener("abort", stop);
  });
  if (options?.signal?.aborted) stop();
  else options?.signal?.addEventListener("abort", stop, { once: true });
  return {
    write(message) {
      if (ended || call.writableEnded || call.destroyed)
        throw new RpcError(status.UNAVAILABLE, `${path}: the call has ended`);
      if (call.writableLength >= maxBuffered) {
        throw new RpcError(status.RESOURCE_EXHAUSTED, `${path}: ${maxBuffered} messages wait to be sent`);
      }
      return call.write(message);
    },
    drained() {
      if (!call.writableNeedDrain || ended) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          call.off("drain", done);
          call.off("close", done);
          resolve();
        };
        call.on("drain", done);
        call.on("close", done);
      });
    },
    end() {
      if (!call.writableEnded) call.end();
    },
    cancel: stop,
    async *[Symbol.asyncIterator]() {
      try {
        for await (const message of call) yield message;
      } finally {
        stop();
      }
    },
  };
}

/** Default channel options: keepalive so dead peers are noticed, bounded message sizes. */
export const defaultChannelOptions: ClientOptions = {
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 10_000,
  "grpc.max_receive_message_length": 16 * 1024 * 1024,
};

/** Creates a typed client for `service` at `address` (host:port), plaintext unless `transport` says TLS. */
export function createClient<S extends DescService>(
  service: S,
  address: string,
  channelOptions: ClientOptions = {},
  transport?: ClientTransport,
): PromiseClient<S> {
  const client = new Client(address, transport?.credentials ?? credentials.createInsecure(), {
    ...defaultChannelOptions,
    ...transport?.channelOptions,
    ...channelOptions,
  });
  const methods: Record<string, unknown> = {
    close: () => client.close(),
    address,
    transport,
  };
  for (const method of service.methods) {
    const path = methodPath(method);
    const decode = (bytes: Buffer) => fromBinary(method.output, bytes);
    const serialize = (value: MessageInitShape<DescMessage>) => encode(method.input, value);
    if (method.methodKind === "unary") {
      methods[method.localName] = (request: MessageInitShape<DescMessage>, options?: RpcOptions) =>
        new Promise((resolve, reject) => {
          const metadata = metadataOf(options);
          const span = startClientSpan(method, address, metadata);
          const call = client.makeUnaryRequest(
            path,
            serialize,
            decode,
            request,
            metadata,
            callOptionsOf(options),
            (err, response) => {
              options?.signal?.removeEventListener("abort", cancel);
              if (span) endRpcSpan(span, err ? err.code : status.OK, err ?? undefined);
              if (err) reject(err);
              else resolve(response);
            },
          );
          if (options?.onMetadata) call.on("metadata", options.onMetadata);
          const cancel = () => call.cancel();
          if (options?.signal?.aborted) call.cancel();
          else options?.signal?.addEventListener("abort", cancel, { once: true });
        });
    } else if (method.methodKind === "server_streaming") {
      methods[method.localName] = (request: MessageInitShape<DescMessage>, options?: RpcOptions) => ({
        async *[Symbol.asyncIterator]() {
          const metadata = metadataOf(options);
          const span = startClientSpan(method, address, metadata);
          const call = client.makeServerStreamRequest(
            path,
            serialize,
            decode,
            request,
            metadata,
            callOptionsOf(options),
          );
          if (options?.onMetadata) call.on("metadata", options.onMetadata);
          const cancel = () => call.cancel();
          options?.signal?.addEventListener("abort", cancel, { once: true });
          let code = status.CANCELLED;
          let failure: unknown;
          try {
            for await (const message of call) yield message;
            code = status.OK;
          } catch (err) {
            code = codeOf(err);
            failure = err;
            throw err;
          } finally {
            options?.signal?.removeEventListener("abort", cancel);
            call.cancel();
            if (span) endRpcSpan(span, code, failure);
          }
        },
      });
    } else if (method.methodKind === "bidi_streaming") {
      methods[method.localName] = (options?: BidiOptions) =>
        bidiCall(client, path, serialize, decode, options);
    }
  }
  return methods as PromiseClient<S>;
}
