import {
  type Metadata,
  ResponderBuilder,
  ServerInterceptingCall,
  type ServerInterceptor,
  ServerListenerBuilder,
  type ServerOptions,
  status,
} from "@grpc/grpc-js";

/**
 * Room for everything in a request but its large fields (ids, agent names, enums, framing): the
 * bound of every method whose binding gives none, and what the large ones add to their fields' limit.
 */
export const REQUEST_ENVELOPE_BYTES = 16 * 1024;

/** The `limits` keys of the config that bound what one connection to a server may hold. */
export interface TransportLimitSettings {
  /** Largest request metadata, in bytes as HTTP/2 counts a header list. */
  readonly max_metadata_bytes: number;
  /** Streams one connection may have open at once (grpc.max_concurrent_streams). */
  readonly max_concurrent_streams: number;
  /** HTTP/2 session memory of one connection, in MB (grpc-node.max_session_memory). */
  readonly session_memory_mb: number;
}

/** The config's defaults, for servers started without a config (tests, tools). */
export const DEFAULT_TRANSPORT_LIMITS: TransportLimitSettings = {
  max_metadata_bytes: 16 * 1024,
  max_concurrent_streams: 128,
  session_memory_mb: 32,
};

/** Size of a call's metadata as HTTP/2 counts a header list: name, value and 32 bytes per entry. */
export function metadataBytes(metadata: Metadata): number {
  let bytes = 0;
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    for (const value of values) {
      const length = typeof value === "string" ? Buffer.byteLength(value) : value.byteLength;
      bytes += key.length + length + 32;
    }
  }
  return bytes;
}

/**
 * A server interceptor that answers a call whose metadata is over `maxBytes` with RESOURCE_EXHAUSTED
 * naming limits.max_metadata_bytes, before authentication or its handler sees it.
 */
export function metadataLimitInterceptor(maxBytes: number): ServerInterceptor {
  return (_descriptor, call) => {
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const bytes = metadataBytes(metadata);
        if (bytes <= maxBytes) return next(metadata);
        call.sendStatus({
          code: status.RESOURCE_EXHAUSTED,
          details: `request metadata is ${bytes} bytes; the limit is ${maxBytes} (limits.max_metadata_bytes)`,
        });
      })
      .build();
    const responder = new ResponderBuilder().withStart((next) => next(listener)).build();
    return new ServerInterceptingCall(call, responder);
  };
}

/**
 * grpc-js server options for `limits`: a frame over `maxReceiveBytes` (the largest method's bound)
 * is refused from its 5-byte length prefix, before it is read.
 */
export function transportOptions(limits: TransportLimitSettings, maxReceiveBytes: number): ServerOptions {
  return {
    "grpc.max_receive_message_length": maxReceiveBytes,
    "grpc.max_concurrent_streams": limits.max_concurrent_streams,
    "grpc-node.max_session_memory": limits.session_memory_mb,
  };
}
