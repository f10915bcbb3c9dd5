import { type DescMethod, fromBinary } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { RpcError } from "./status.js";

/**
 * What a server's request deserializer hands on in place of a request it would not decode. grpc-js
 * answers a throwing deserializer with INTERNAL "Error deserializing request", so the deserializer
 * returns this instead and the handler wrapper throws its error (see acceptedRequest).
 */
export class RefusedRequest {
  constructor(readonly error: RpcError) {}
}

// protobuf-es reports invalid UTF-8 in a string field with TextDecoder's words; say it plainly.
function decodeProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/not valid for encoding utf-8/i.test(message)) return "a string field is not valid UTF-8";
  return message.length <= 64 ? message : `${message.slice(0, 63)}…`;
}

/**
 * The request deserializer of `method` on a server: a request over `maxBytes` is RESOURCE_EXHAUSTED
 * and bytes that are not a valid message are INVALID_ARGUMENT "malformed request: …", both as a
 * RefusedRequest. `maxBytes` is the method's own bound; grpc-js's max_receive_message_length (the
 * largest method's) has already refused a bigger frame from its length prefix, before reading it.
 */
export function requestDeserializer(method: DescMethod, maxBytes: number): (bytes: Buffer) => unknown {
  const path = `${method.parent.typeName}/${method.name}`;
  return (bytes) => {
    if (bytes.byteLength > maxBytes) {
      return new RefusedRequest(
        new RpcError(
          status.RESOURCE_EXHAUSTED,
          `request is ${bytes.byteLength} bytes; ${path} accepts at most ${maxBytes}`,
        ),
      );
    }
    try {
      return fromBinary(method.input, bytes);
    } catch (err) {
      return new RefusedRequest(
        new RpcError(
          status.INVALID_ARGUMENT,
          `malformed request: ${decodeProblem(err)} (not a valid ${method.input.typeName})`,
        ),
      );
    }
  };
}

/** The decoded request, or throws the error its deserializer refused it with. */
export function acceptedRequest(request: unknown): unknown {
  if (request instanceof RefusedRequest) throw request.error;
  return request;
}
