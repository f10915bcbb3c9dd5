import { type AgentAnswer, Aggregation } from "@chorus/proto";
import { quoted, RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import type { ContextMessage } from "../executor/agent-task.js";
import { answerFromAgent, failedAnswer } from "./agent-answer.js";
import * as aggregate from "./aggregation.js";
import { inTaskSpan } from "./turn-span.js";
import type { TurnDeps, TurnInput } from "./turn-types.js";

/** Runs every selected agent, returning their answers in agent order once aggregation is settled. */
export async function collectAnswers(
  deps: TurnDeps,
  input: TurnInput,
  turnId: string,
  context: readonly ContextMessage[],
): Promise<{ answers: AgentAnswer[]; outcomes: aggregate.TaskOutcome[] }> {
  const controller = new AbortController();
  const abort = () => controller.abort(input.signal.reason);
  input.signal.addEventListener("abort", abort, { once: true });
  const answers: (AgentAnswer | undefined)[] = input.agents.map(() => undefined);
  const outcomes: aggregate.TaskOutcome[] = [];
  const { quorum_size, quorum_wait_ms } = deps.config.orchestrator;
  let quorumTimer: NodeJS.Timeout | undefined;
  let quorumWaitOver = false;
  try {
    await new Promise<void>((resolve) => {
      if (input.aggregation === Aggregation.QUORUM) {
        // Past the quorum deadline, any successful answer is enough.
        quorumTimer = setTimeout(() => {
          quorumWaitOver = true;
          if (outcomes.some((o) => o.ok)) resolve();
        }, quorum_wait_ms);
      }
      input.agents.forEach((name, index) => {
        const pool = deps.pools.get(name);
        if (!pool) throw new RpcError(status.INVALID_ARGUMENT, `agents: unknown agent ${quoted(name)}`);
        const settle = (answer: AgentAnswer) => {
          if (answers[index] !== undefined) return;
          answers[index] = answer;
          outcomes.push({ agent: name, ok: answer.ok, text: answer.text, finishedOrder: outcomes.length });
          input.onEvent?.({ event: { case: "agentDone", value: answer } });
          if (aggregate.isSettled(input.aggregation, outcomes, input.agents.length, quorum_size)) resolve();
          else if (quorumWaitOver && answer.ok) resolve();
        };
        inTaskSpan(pool, input, controller.signal, () =>
          answerFromAgent(deps, pool, input, turnId, context, controller.signal),
        ).then(settle, (err: unknown) => {
          deps.log.error({ err, agent: name, turnId }, "agent task failed unexpectedly");
          settle(failedAnswer(name, "internal error"));
        });
      });
    });
  } finally {
    clearTimeout(quorumTimer);
    input.signal.removeEventListener("abort", abort);
    // Early-settled modes (fastest, quorum) stop the agents whose answers are no longer needed.
    controller.abort(new Error("aggregation settled"));
  }
  const complete = answers.map(
    (answer, index): AgentAnswer =>
      answer ??
      failedAnswer(
        input.agents[index] ?? "",
        `not awaited: ${aggregate.aggregationName(input.aggregation)} aggregation settled first`,
      ),
  );
  const ordered = input.agents
    .map((agent) => outcomes.find((o) => o.agent === agent))
    .filter((o) => o !== undefined);
  return { answers: complete, outcomes: ordered };
}
