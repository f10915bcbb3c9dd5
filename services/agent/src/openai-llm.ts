import OpenAI from "openai";
import { CallScope } from "./call-scope.js";
import type { ChatMessage, Llm, LlmEvent, LlmRequest, LlmResult } from "./llm.js";
import { endModelSpan, startModelSpan } from "./model-span.js";
import { nodeHttpFetch } from "./node-http-fetch.js";

/** Where and how to reach an OpenAI-compatible server. */
export interface OpenAiLlmOptions {
  readonly baseUrl: string;
  readonly apiKey: string;
  /** Upper bound of any call; a request's own timeoutMs may be shorter. */
  readonly timeoutMs: number;
}

type Usage = { prompt_tokens: number; completion_tokens: number } | null | undefined;

function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function resultOf(request: LlmRequest, text: string, model: string | undefined, usage: Usage): LlmResult {
  return {
    text,
    // Servers that report no usage still get plausible numbers: about four characters per token.
    promptTokens: usage?.prompt_tokens ?? estimateTokens(request.messages.map((m) => m.content).join("")),
    completionTokens: usage?.completion_tokens ?? estimateTokens(text),
    model: model || request.model,
  };
}

/** The Llm interface over the official openai SDK, for any OpenAI-compatible server. */
export class OpenAiLlm implements Llm {
  private readonly client: OpenAI;

  constructor(private readonly options: OpenAiLlmOptions) {
    this.client = new OpenAI({
      baseURL: options.baseUrl,
      // The SDK refuses to start without a key; local servers accept any.
      apiKey: options.apiKey || "unused",
      maxRetries: 0,
      timeout: options.timeoutMs,
      fetch: nodeHttpFetch,
    });
  }

  private body(request: LlmRequest) {
    return {
      model: request.model,
      messages: request.messages.map((message: ChatMessage) => ({
        role: message.role,
        content: message.content,
      })),
      temperature: request.temperature,
      ...(request.seed === undefined ? {} : { seed: request.seed }),
      max_tokens: request.maxTokens,
    };
  }

  // The trace context rides on each request's headers, so the model server can join the trace.
  private callOptions(scope: CallScope, request: LlmRequest, headers: Record<string, string>) {
    return { signal: scope.signal, timeout: Math.max(1, Math.ceil(request.timeoutMs)), headers };
  }

  async complete(request: LlmRequest): Promise<LlmResult> {
    const scope = new CallScope(request);
    const { span, headers } = startModelSpan(request, this.options.baseUrl, false);
    let result: LlmResult | undefined;
    let failure: unknown;
    try {
      const completion = await this.client.chat.completions.create(
        { ...this.body(request), stream: false },
        this.callOptions(scope, request, headers),
      );
      result = resultOf(
        request,
        completion.choices[0]?.message.content ?? "",
        completion.model,
        completion.usage,
      );
      return result;
    } catch (err) {
      failure = scope.classify(err, this.options.baseUrl);
      throw failure;
    } finally {
      scope.dispose(false);
      endModelSpan(span, result, failure);
    }
  }

  async *stream(request: LlmRequest): AsyncIterable<LlmEvent> {
    const scope = new CallScope(request);
    const { span, headers } = startModelSpan(request, this.options.baseUrl, true);
    let finished = false;
    let result: LlmResult | undefined;
    let failure: unknown;
    try {
      const stream = await this.client.chat.completions.create(
        { ...this.body(request), stream: true, stream_options: { include_usage: true } },
        this.callOptions(scope, request, headers),
      );
      let text = "";
      let model: string | undefined;
      let usage: Usage;
      for await (const chunk of stream) {
        model ||= chunk.model;
        if (chunk.usage) usage = chunk.usage;
        const delta = chunk.choices[0]?.delta?.content;
        if (delta) {
          text += delta;
          yield { type: "delta", text: delta };
        }
      }
      // The SDK ends an aborted stream silently, without an error.
      if (scope.signal.aborted) throw scope.abortError();
      finished = true;
      result = resultOf(request, text, model, usage);
      yield { type: "done", result };
    } catch (err) {
      failure = scope.classify(err, this.options.baseUrl);
      throw failure;
    } finally {
      scope.dispose(!finished);
      endModelSpan(span, result, failure ?? (finished ? undefined : scope.abortError()));
    }
  }
}
