import http2, { type ClientHttp2Session, type OutgoingHttpHeaders } from "node:http2";

/** How a hand-made gRPC call ended, as the server answered it. */
export interface RawOutcome {
  /** grpc-status, or undefined when the stream ended without one (reset, or timed out). */
  readonly code: number | undefined;
  /** grpc-message, percent-decoded. */
  readonly details: string;
  /** The RST_STREAM code the stream closed with (0: closed normally). */
  readonly rstCode: number | undefined;
  /** True when the call got no answer within its timeout. */
  readonly timedOut: boolean;
  readonly ms: number;
}

/** One gRPC length-prefixed message: flag 0, a 4-byte length (`declaredLength`, which may lie), the bytes. */
export function grpcFrame(message: Uint8Array, declaredLength = message.byteLength): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([prefix, message]);
}

/**
 * An HTTP/2 session to a plaintext gRPC server that sends what grpc-js clients would not: header
 * blocks of any size, frames whose length prefix lies, bodies it never finishes.
 */
export function rawSession(address: string): ClientHttp2Session {
  const session = http2.connect(`http://${address}`, {
    maxSendHeaderBlockLength: 16 * 1024 * 1024,
    maxSessionMemory: 4096,
  });
  session.on("error", () => {});
  return session;
}

/**
 * Sends `chunks` as the body of a gRPC call to `path` on `session`, ending the request unless
 * `endRequest` is false, and resolves when the server answers with a status (then cancels the
 * stream), resets the stream, or `timeoutMs` passes.
 */
export function rawGrpcCall(
  session: ClientHttp2Session,
  path: string,
  chunks: readonly Uint8Array[],
  options: { headers?: OutgoingHttpHeaders; endRequest?: boolean; timeoutMs?: number } = {},
): Promise<RawOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...options.headers,
    });
    let code: number | undefined;
    let details = "";
    const read = (headers: http2.IncomingHttpHeaders) => {
      if (headers["grpc-status"] !== undefined) code = Number(headers["grpc-status"]);
      const message = headers["grpc-message"];
      if (typeof message === "string") details = decodeURIComponent(message);
      // The status ends the call even while the request is still open.
      if (code !== undefined) finish(false);
    };
    let finished = false;
    const finish = (timedOut: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      resolve({ code, details, rstCode: stream.rstCode, timedOut, ms: performance.now() - started });
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
    };
    const timer = setTimeout(() => finish(true), options.timeoutMs ?? 10_000);
    stream.on("response", read);
    stream.on("trailers", read);
    stream.on("data", () => {});
    stream.on("error", () => {});
    stream.on("close", () => finish(false));
    for (const chunk of chunks) stream.write(chunk);
    if (options.endRequest ?? true) stream.end();
  });
}
