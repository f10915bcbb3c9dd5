import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Aggregation, ChatEventSchema, ChatRequest, ChatService } from "@chorus/proto";
import type { CallContext, ServiceHandlers } from "@chorus/shared";
import type { Scaler } from "../scaler/scaler.js";
import type { ScalingEvents } from "../scaler/scaling-events.js";
import type { Recorder } from "../telemetry/recorder.js";
import { AsyncQueue } from "../turn/async-queue.js";
import { runBatch } from "../turn/batch.js";
import { runTurn, type TurnDeps, type TurnInput } from "../turn/turn.js";
import { Admission } from "./admission.js";
import type { Audit } from "./auth/audit.js";
import { callerOf, clientKeyOf } from "./caller.js";
import type { PrincipalLimiter } from "./limits/principal-limiter.js";
import { scalingHandlers } from "./scaling-service.js";
import { statsReport } from "./stats-report.js";
import { type StatusSources, statusReport } from "./status-report.js";
import { serviceUsages, type UsageSources } from "./usage-report.js";
import { validateBatch, validateChat } from "./validate.js";

function deadlineOf(context: CallContext, timeoutMs: number): Date {
  const own = Date.now() + timeoutMs;
  return new Date(Math.min(own, context.deadline?.getTime() ?? own));
}

/** What GetStats reads: the recorder's counters and every process's usage. */
export interface StatsSources extends UsageSources {
  readonly recorder: Recorder;
}

/** Whether the public port authenticates callers (else every call is the local principal). */
export interface AccessControl {
  readonly authEnabled: boolean;
  /** Where ScalePool, deletes and admin reads are recorded. */
  readonly audit: Audit;
  /** Each principal's requests and tokens per minute and concurrent turns. */
  readonly limiter: PrincipalLimiter;
}

/** What the scaling RPCs act on. */
export interface ScalingControl {
  readonly scaler: Scaler;
  readonly events: ScalingEvents;
}

/** ChatService handlers. */
export function chatHandlers(
  deps: TurnDeps,
  sources: StatusSources,
  scaling: ScalingControl,
  stats: StatsSources,
  access: AccessControl,
): ServiceHandlers<typeof ChatService> {
  const { config } = deps;
  const { max_concurrent_turns, admission_queue_limit } = config.orchestrator;
  const admission = new Admission(max_concurrent_turns, admission_queue_limit);
  const timeout = config.orchestrator.turn_timeout_ms;
  const turnInput = (
    request: ChatRequest,
    context: CallContext,
    agents: string[],
    aggregation: Aggregation,
  ): TurnInput => ({
    conversationId: request.conversationId,
    message: request.message,
    turnId: request.turnId,
    aggregation,
    agents,
    deadline: deadlineOf(context, timeout),
    signal: context.signal,
    requestId: context.requestId,
    principal: callerOf(context, access.authEnabled),
    client: clientKeyOf(context, callerOf(context, access.authEnabled)),
    useContext: true,
  });
  return {
    async chat(request, context) {
      const { agents, aggregation } = validateChat(request, config);
      const input = turnInput(request, context, agents, aggregation);
      return admission.run(input.client ?? "", input.signal, input.deadline, () =>
        access.limiter.run(input.principal, () => runTurn(deps, input)),
      );
    },

    chatStream(request, context) {
      const { agents, aggregation } = validateChat(request, config);
      const queue = new AsyncQueue<MessageInitShape<typeof ChatEventSchema>>();
      const input: TurnInput = {
        ...turnInput(request, context, agents, aggregation),
        onEvent: (event) => queue.push(event),
      };
      admission
        .run(input.client ?? "", input.signal, input.deadline, () =>
          access.limiter.run(input.principal, () => runTurn(deps, input)),
        )
        .then(
          (response) => {
            queue.push({ event: { case: "final", value: response } });
            queue.end();
          },
          (err: unknown) => queue.end(err),
        );
      return queue;
    },

    batch(request, context) {
      const { messages, agents, fanout } = validateBatch(request, config);
      const deadline = context.deadline ?? new Date(Date.now() + timeout * Math.max(1, messages.length));
      const principal = callerOf(context, access.authEnabled);
      const client = clientKeyOf(context, principal);
      return runBatch(deps, {
        messages,
        agents,
        fanout,
        deadline,
        signal: context.signal,
        requestId: context.requestId,
        principal,
        client,
        // Every item is a turn: admitted like a Chat, so a batch runs only as wide as admission lets it.
        around: (turn) =>
          admission.run(client, context.signal, deadline, () => access.limiter.run(principal, turn)),
      });
    },

    getStats: async () => statsReport(config, stats.recorder, await serviceUsages(stats), stats.pools),

    getStatus: () => statusReport(sources),

    ...scalingHandlers(scaling.scaler, scaling.events, access),
  };
}
