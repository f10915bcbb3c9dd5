import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AgentAnswer, ChatResponseSchema } from "@chorus/proto";
import { ChorusAttr, failSpan, inSpan, setAttributes } from "@chorus/shared";
import type { AgentDispatch } from "./agent-dispatch.js";
import { aggregationName } from "./aggregation.js";
import type { TurnInput } from "./turn-types.js";

type ChatResponseInit = MessageInitShape<typeof ChatResponseSchema>;

/**
 * Runs one turn inside its span, `chorus.turn`: the turn id, conversation, agents and aggregation
 * it was asked for, then whether it was answered from the cache or replayed from history and
 * which agents answered. A failed turn's span has status ERROR.
 */
export function inTurnSpan(
  input: TurnInput,
  run: () => Promise<ChatResponseInit>,
): Promise<ChatResponseInit> {
  const attributes = {
    [ChorusAttr.turnId]: input.turnId || undefined,
    [ChorusAttr.conversationId]: input.conversationId || undefined,
    [ChorusAttr.agents]: [...input.agents],
    [ChorusAttr.aggregation]: aggregationName(input.aggregation),
  };
  return inSpan("chorus.turn", {}, async (span) => {
    setAttributes(span, attributes);
    const response = await run();
    setAttributes(span, {
      [ChorusAttr.turnId]: response.turnId,
      [ChorusAttr.conversationId]: response.conversationId,
      [ChorusAttr.cached]: response.cached ?? false,
      [ChorusAttr.replayed]: response.replayed ?? false,
      [ChorusAttr.answeredBy]: [...(response.answeredBy ?? [])],
    });
    return response;
  });
}

/**
 * Runs one agent's task of a turn inside its span, `chorus.task`: the pool, then how it was
 * answered (cached, the replica, attempts, tokens) and its outcome: ok, failed (status ERROR), or
 * stopped when the turn's aggregation settled without it.
 */
export function inTaskSpan(
  pool: AgentDispatch,
  input: TurnInput,
  signal: AbortSignal,
  run: () => Promise<AgentAnswer>,
): Promise<AgentAnswer> {
  return inSpan("chorus.task", {}, async (span) => {
    setAttributes(span, { [ChorusAttr.pool]: pool.name });
    const answer = await run();
    const stopped = !answer.ok && signal.aborted && !input.signal.aborted;
    setAttributes(span, {
      [ChorusAttr.outcome]: answer.ok ? "ok" : stopped ? "stopped" : "failed",
      [ChorusAttr.cached]: answer.cached,
      [ChorusAttr.replica]: answer.replica || undefined,
      [ChorusAttr.attempts]: answer.attempts,
      [ChorusAttr.promptTokens]: answer.promptTokens,
      [ChorusAttr.completionTokens]: answer.completionTokens,
    });
    if (!answer.ok && !stopped) failSpan(span, new Error(answer.error));
    return answer;
  });
}
