import type { IncomingMessage, ServerResponse } from "node:http";

/** An error answered with an HTTP status and an OpenAI-style error body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = "invalid_request_error",
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** Reads a request body as UTF-8, rejecting with 413 beyond `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const tooLarge = () =>
    new HttpError(413, `request body exceeds ${limit} bytes`, "invalid_request_error", "body_too_large");
  if (Number(req.headers["content-length"] ?? 0) > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let ended = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        reject(tooLarge());
      } else chunks.push(chunk);
    });
    req.on("end", () => {
      ended = true;
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", reject);
    req.on("close", () => {
      if (!ended) reject(new HttpError(400, "client closed the request", "invalid_request_error", "aborted"));
    });
  });
}

/** Sends `body` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Sends an OpenAI-style `{error: {message, type, code}}` body. */
export function sendError(res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // The client may still be sending a body we refused; close rather than read it.
  if (err.status === 413) res.setHeader("connection", "close");
  sendJson(res, err.status, { error: { message: err.message, type: err.type, code: err.code } });
}
