import { ChorusAttr, failSpan, inSpan, SpanKind, setAttributes, traceHeaders } from "@chorus/shared";
import type { AttemptOutcome } from "./attempt.js";
import type { Block } from "./block.js";
import type { ChannelTaskRequest } from "./channel-task.js";

/**
 * Runs one attempt of a task inside its span, `chorus.task.attempt`: the pool, the replica, the
 * attempt's number, whether it was hedged and whether the hedge won, the tokens and the outcome.
 * The task goes down the channel with this span's W3C trace context, so the replica's span (and a
 * hedge's) is its child.
 */
export function inAttemptSpan(
  block: Block,
  attempt: number,
  request: ChannelTaskRequest,
  run: (request: ChannelTaskRequest) => Promise<AttemptOutcome>,
): Promise<AttemptOutcome> {
  const attributes = {
    [ChorusAttr.pool]: block.pool,
    [ChorusAttr.replica]: block.address,
    [ChorusAttr.attempt]: attempt,
  };
  return inSpan("chorus.task.attempt", { kind: SpanKind.CLIENT, attributes }, async (span) => {
    const traceContext = traceHeaders();
    const outcome = await run(Object.keys(traceContext).length > 0 ? { ...request, traceContext } : request);
    setAttributes(span, {
      [ChorusAttr.replica]: outcome.block.address,
      [ChorusAttr.hedged]: outcome.hedged,
      [ChorusAttr.hedgeWon]: outcome.hedgeWon,
      [ChorusAttr.outcome]: outcome.ok ? "ok" : "failed",
      ...(outcome.ok
        ? {
            [ChorusAttr.promptTokens]: outcome.response.promptTokens,
            [ChorusAttr.completionTokens]: outcome.response.completionTokens,
          }
        : {}),
    });
    if (!outcome.ok) failSpan(span, outcome.error);
    return outcome;
  });
}
