import { setTimeout as delay } from "node:timers/promises";
import type { AgentConfig } from "@chorus/config";
import { status } from "@grpc/grpc-js";
import type { AgentTaskRequest, AgentTaskResult } from "../executor/agent-task.js";
import type { AgentDispatch } from "../turn/agent-dispatch.js";

/** Tasks running at once across a set of fakes, and the most there ever were. */
export class Concurrency {
  running = 0;
  peak = 0;
}

/** How a fake agent behaves. */
export interface FakeBehaviour {
  /** How long each task takes. */
  readonly delayMs?: number;
  /** Fail every task with this error (UNAVAILABLE), after the delay. */
  readonly error?: string;
  readonly concurrency?: Concurrency;
}

/** An AgentDispatch for tests: answers after a set delay, recording every request it was sent. */
export class FakeDispatch implements AgentDispatch {
  readonly requests: AgentTaskRequest[] = [];
  /** Tasks whose signal was aborted before they finished. */
  stopped = 0;

  constructor(
    readonly agent: AgentConfig,
    private readonly behaviour: FakeBehaviour = {},
  ) {}

  get name(): string {
    return this.agent.name;
  }

  /** The answer this fake gives to `message`. */
  answerTo(message: string): string {
    return `${this.name} on ${message.split("\n")[0]}`;
  }

  async run(request: AgentTaskRequest): Promise<AgentTaskResult> {
    this.requests.push(request);
    const counter = this.behaviour.concurrency;
    if (counter) counter.peak = Math.max(counter.peak, ++counter.running);
    const base = { attempts: 1, replica: `${this.name}-0`, promptTokens: 0, completionTokens: 0 };
    try {
      await delay(this.behaviour.delayMs ?? 0, undefined, { signal: request.signal });
    } catch {
      this.stopped += 1;
      return { ...base, ok: false, text: "", error: "cancelled", code: status.CANCELLED };
    } finally {
      if (counter) counter.running -= 1;
    }
    if (this.behaviour.error) {
      return { ...base, ok: false, text: "", error: this.behaviour.error, code: status.UNAVAILABLE };
    }
    const text = this.answerTo(request.message);
    request.onDelta?.(text);
    return { ...base, ok: true, text, error: "", code: status.OK, promptTokens: 10, completionTokens: 20 };
  }
}
