import type { IncomingMessage, ServerResponse } from "node:http";
import { extractHeaders, inSpan, SemconvAttr, SpanKind } from "@chorus/shared";
import { chatCompletions, type SimulatorState } from "./chat-completions.js";
import { HttpError } from "./http-io.js";

const PATH = "/v1/chat/completions";

/** The W3C trace headers of a request, as a plain map. */
function traceCarrier(req: IncomingMessage): Record<string, string> {
  const carrier: Record<string, string> = {};
  for (const name of ["traceparent", "tracestate"]) {
    const value = req.headers[name];
    if (typeof value === "string") carrier[name] = value;
  }
  return carrier;
}

/**
 * Serves one chat completion inside a server span (`POST /v1/chat/completions`) continuing the
 * agent's traceparent, so the simulated model shows in the turn's trace; a no-op while tracing is off.
 */
export function tracedCompletion(
  req: IncomingMessage,
  res: ServerResponse,
  state: SimulatorState,
): Promise<void> {
  const attributes = { "http.request.method": "POST", "url.path": PATH };
  const options = { kind: SpanKind.SERVER, attributes };
  return inSpan(
    `POST ${PATH}`,
    options,
    async (span) => {
      try {
        await chatCompletions(req, res, state);
        span.setAttribute("http.response.status_code", res.statusCode);
      } catch (err) {
        const status = err instanceof HttpError ? err.status : 500;
        span.setAttribute("http.response.status_code", status);
        span.setAttribute(SemconvAttr.errorType, String(status));
        throw err;
      }
    },
    extractHeaders(traceCarrier(req)),
  );
}
