/** The stream terminator OpenAI clients wait for. */
export const SSE_DONE = "data: [DONE]\n\n";

/** Token counts in OpenAI's shape. */
export interface Usage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

/** Builds the SSE events of one streamed chat completion; the shared prefix is serialised once. */
export class ChunkEvents {
  private readonly prefix: string;

  constructor(id: string, created: number, model: string) {
    this.prefix = `data: {"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"choices":[`;
  }

  /** The first event: the assistant role with empty content. */
  role(): string {
    return `${this.prefix}{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n`;
  }

  /** One content delta. */
  content(text: string): string {
    return `${this.prefix}{"index":0,"delta":{"content":${JSON.stringify(text)}},"finish_reason":null}]}\n\n`;
  }

  /** The event carrying the finish reason. */
  finish(reason: "stop" | "length"): string {
    return `${this.prefix}{"index":0,"delta":{},"finish_reason":"${reason}"}]}\n\n`;
  }

  /** The usage event sent when the request asked for stream_options.include_usage. */
  usage(usage: Usage): string {
    return `${this.prefix}],"usage":${JSON.stringify(usage)}}\n\n`;
  }
}
