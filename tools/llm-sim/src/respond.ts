import type { ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { CompletionPlan } from "./completion-plan.js";
import { sendJson } from "./http-io.js";
import type { LatencyModel } from "./latency.js";
import { ChunkEvents, SSE_DONE } from "./sse.js";

/** Waits `ms` unless it is zero, so the zero profile never touches a timer; rejects on abort. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms > 0) await sleep(ms, undefined, { signal });
  else signal.throwIfAborted();
}

/** Answers with one chat.completion JSON body after the whole simulated generation time. */
export async function sendCompletion(
  res: ServerResponse,
  plan: CompletionPlan,
  latency: LatencyModel,
  signal: AbortSignal,
): Promise<void> {
  let delay = latency.firstToken();
  for (let i = 1; i < plan.tokens.length; i++) delay += latency.nextToken();
  await pause(delay, signal);
  sendJson(res, 200, {
    id: plan.id,
    object: "chat.completion",
    created: plan.created,
    model: plan.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: plan.tokens.join("") },
        finish_reason: plan.finishReason,
        logprobs: null,
      },
    ],
    usage: plan.usage,
  });
}

/**
 * Streams the answer as SSE, one content delta per token. Events due at the same moment are
 * written together; a small answer to a slow reader is simply buffered by the socket.
 */
export async function streamCompletion(
  res: ServerResponse,
  plan: CompletionPlan,
  latency: LatencyModel,
  signal: AbortSignal,
): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const events = new ChunkEvents(plan.id, plan.created, plan.model);
  await pause(latency.firstToken(), signal);
  let pending = events.role();
  for (const [index, token] of plan.tokens.entries()) {
    const delay = index === 0 ? 0 : latency.nextToken();
    if (delay > 0) {
      res.write(pending);
      pending = "";
      await pause(delay, signal);
    }
    pending += events.content(token);
  }
  pending += events.finish(plan.finishReason);
  if (plan.includeUsage) pending += events.usage(plan.usage);
  res.end(pending + SSE_DONE);
}
