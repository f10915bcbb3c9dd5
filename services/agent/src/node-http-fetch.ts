import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import { BufferedResponse, MessageHeaders } from "./buffered-response.js";

/** Upper bound of sockets per origin; an agent's `workers` keep real use far below it. */
const MAX_SOCKETS_PER_ORIGIN = 256;

/** Upper bound of a whole (non-streamed) answer held in memory. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_ORIGIN }),
  https: new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_ORIGIN }),
};

function requestBody(body: RequestInit["body"]): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string" || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError(
    `nodeHttpFetch sends string or byte bodies, not ${Object.prototype.toString.call(body)}`,
  );
}

function webHeaders(message: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of new MessageHeaders(message.headers)) headers.set(name, value);
  return headers;
}

/**
 * The subset of `fetch` the openai SDK uses, over node:http(s) with keep-alive. Whole answers come
 * back as a `BufferedResponse` and server-sent events as a streamed web `Response`; the SDK then
 * spends less than half the CPU per completion it spends over the global (undici) fetch.
 */
export function nodeHttpFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  if (input instanceof Request)
    return Promise.reject(new TypeError("nodeHttpFetch takes a URL, not a Request"));
  const url = new URL(input);
  const secure = url.protocol === "https:";
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, name) => {
    headers[name] = value;
  });
  let body: string | Uint8Array | undefined;
  try {
    body = requestBody(init.body);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise((resolve, reject) => {
    const options = {
      method: init.method ?? "GET",
      headers,
      agent: secure ? agents.https : agents.http,
      signal: init.signal ?? undefined,
    };
    const onResponse = (message: IncomingMessage) => {
      const status = message.statusCode ?? 502;
      if (String(message.headers["content-type"]).includes("text/event-stream")) {
        const body = Readable.toWeb(message) as ReadableStream<Uint8Array>;
        resolve(new Response(body, { status, headers: webHeaders(message) }));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      message.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BUFFERED_BYTES) {
          message.destroy(new Error(`answer from ${url.origin} exceeds ${MAX_BUFFERED_BYTES} bytes`));
        } else chunks.push(chunk);
      });
      message.once("error", reject);
      message.once("end", () => {
        const headers = new MessageHeaders(message.headers);
        const bytes = Buffer.concat(chunks);
        const response = new BufferedResponse(url.href, status, message.statusMessage ?? "", headers, bytes);
        // The SDK reads only what BufferedResponse has; the cast spares it a web Response per call.
        resolve(response as unknown as Response);
      });
    };
    const request = (secure ? https : http).request(url, options, onResponse);
    request.once("error", reject);
    request.end(body);
  });
}
