import type { IncomingMessage, ServerResponse } from "node:http";
import { type ChatRequest, parseChatRequest } from "./chat-request.js";
import { planCompletion } from "./completion-plan.js";
import { HttpError, readBody } from "./http-io.js";
import type { LatencyModel } from "./latency.js";
import type { SimulatorOptions } from "./options.js";
import type { Random } from "./prng.js";
import { sendCompletion, streamCompletion } from "./respond.js";
import type { Scheduler } from "./scheduler.js";
import type { SimulatorStats } from "./stats.js";

/** Largest accepted request body. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The simulator's shared state that every chat completion uses. */
export interface SimulatorState {
  readonly options: SimulatorOptions;
  readonly scheduler: Scheduler;
  readonly latency: LatencyModel;
  /** Decides which requests fail; seeded, so a run is reproducible. */
  readonly failures: Random;
  readonly models: Set<string>;
  readonly stats: SimulatorStats;
  /** Called with every valid request, as parsed. */
  readonly received?: ((request: ChatRequest) => void) | undefined;
  nextId(): string;
}

function abortOnDisconnect(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort(new Error("client disconnected"));
  });
  return controller.signal;
}

/** Handles POST /v1/chat/completions; throws HttpError for answers other than 200. */
export async function chatCompletions(
  req: IncomingMessage,
  res: ServerResponse,
  state: SimulatorState,
): Promise<void> {
  const { options, stats } = state;
  stats.requests++;
  const signal = abortOnDisconnect(res);
  let request: ReturnType<typeof parseChatRequest>;
  try {
    request = parseChatRequest(await readBody(req, MAX_BODY_BYTES));
  } catch (err) {
    stats.invalid++;
    throw err;
  }
  state.models.add(request.model);
  state.received?.(request);
  if (options.failure_rate > 0 && state.failures() < options.failure_rate) {
    stats.failed++;
    throw new HttpError(500, "simulated failure (failure_rate)", "server_error", "simulated_failure");
  }
  const admitted = state.scheduler.admit(signal);
  if (!admitted) {
    stats.rejected++;
    throw new HttpError(429, "simulator queue is full", "rate_limit_exceeded", "queue_full");
  }
  let release: () => void;
  try {
    release = await admitted;
  } catch {
    stats.aborted++;
    return;
  }
  try {
    const plan = planCompletion(request, options.seed, options.tokens, state.nextId());
    if (request.stream) await streamCompletion(res, plan, state.latency, signal);
    else await sendCompletion(res, plan, state.latency, signal);
    stats.completed++;
    stats.promptTokens += plan.usage.prompt_tokens;
    stats.completionTokens += plan.usage.completion_tokens;
  } catch (err) {
    if (!signal.aborted) throw err;
    stats.aborted++;
    res.destroy();
  } finally {
    release();
  }
}
