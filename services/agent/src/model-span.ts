import {
  failSpan,
  SemconvAttr,
  type Span,
  SpanKind,
  setAttributes,
  startSpan,
  traceHeaders,
  tracingActive,
} from "@chorus/shared";
import type { LlmRequest, LlmResult } from "./llm.js";
import { LlmError } from "./llm-error.js";

const ATTR = SemconvAttr;

/** A model call's span and the W3C headers that carry it to the model server. */
export interface ModelSpan {
  readonly span: Span;
  /** traceparent (and tracestate) for the HTTP request; {} while tracing is off. */
  readonly headers: Record<string, string>;
}

function serverOf(baseUrl: string): Record<string, string | number> {
  try {
    const url = new URL(baseUrl);
    const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
    return { [ATTR.serverAddress]: url.hostname, [ATTR.serverPort]: port };
  } catch {
    return {};
  }
}

/**
 * Starts the span of one model call, named as the GenAI semantic conventions name it
 * (`chat <model>`): the model, temperature, token limit, whether it streams and the server.
 * No prompt or answer text and no API key goes into it.
 */
export function startModelSpan(request: LlmRequest, baseUrl: string, stream: boolean): ModelSpan {
  // Off, the span is the no-op one; its attributes are not even built.
  if (!tracingActive()) return { span: startSpan("", {}).span, headers: {} };
  const { span, context } = startSpan(`chat ${request.model}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      [ATTR.genAiOperationName]: "chat",
      [ATTR.genAiProviderName]: "openai",
      [ATTR.genAiRequestModel]: request.model,
      [ATTR.genAiRequestTemperature]: request.temperature,
      [ATTR.genAiRequestMaxTokens]: request.maxTokens,
      [ATTR.genAiRequestStream]: stream,
      ...serverOf(baseUrl),
    },
  });
  return { span, headers: traceHeaders(context) };
}

/** Ends a model call's span with the tokens it used, or its failure (error.type: the failure's kind). */
export function endModelSpan(span: Span, result: LlmResult | undefined, err?: unknown): void {
  if (result) {
    setAttributes(span, {
      [ATTR.genAiResponseModel]: result.model,
      [ATTR.genAiInputTokens]: result.promptTokens,
      [ATTR.genAiOutputTokens]: result.completionTokens,
    });
  } else if (err !== undefined) {
    failSpan(span, err);
    if (err instanceof LlmError) {
      span.setAttribute(ATTR.errorType, err.httpStatus ? String(err.httpStatus) : err.kind);
    }
  }
  span.end();
}
