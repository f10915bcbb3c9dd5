import { Aggregation } from "@chorus/proto";
import * as aggregate from "./aggregation.js";
import type { TurnDeps, TurnInput } from "./turn-types.js";

async function judged(deps: TurnDeps, input: TurnInput, turnId: string, outcomes: aggregate.TaskOutcome[]) {
  const judgeName = deps.config.orchestrator.judge_agent;
  const pool = deps.pools.get(judgeName);
  if (!pool || !outcomes.some((o) => o.ok)) return aggregate.priority(outcomes);
  const result = await pool.run({
    turnId,
    message: aggregate.judgePrompt(input.message, outcomes),
    context: [],
    deadline: input.deadline,
    signal: input.signal,
    requestId: input.requestId,
    maxAttempts: deps.config.orchestrator.task_attempts,
  });
  if (!result.ok) {
    deps.log.warn({ turnId, error: result.error }, "judge failed; falling back to priority");
    return aggregate.priority(outcomes);
  }
  return { answer: result.text, answeredBy: [judgeName] };
}

/** The aggregated answer of a turn, by the turn's aggregation mode. */
export function combine(deps: TurnDeps, input: TurnInput, turnId: string, outcomes: aggregate.TaskOutcome[]) {
  switch (input.aggregation) {
    case Aggregation.FASTEST:
      return aggregate.fastest(outcomes);
    case Aggregation.ALL:
      return aggregate.all(outcomes);
    case Aggregation.QUORUM:
      return aggregate.quorum(outcomes, deps.config.orchestrator.quorum_size);
    case Aggregation.JUDGE:
      return judged(deps, input, turnId, outcomes);
    default:
      return aggregate.priority(outcomes);
  }
}
