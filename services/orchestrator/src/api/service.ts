import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Aggregation, ChatEventSchema, ChatRequest, ChatService } from "@chorus/proto";
import { type CallContext, RpcError, type ServiceHandlers } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import type { Scaler } from "../scaler/scaler.js";
import type { ScalingEvents } from "../scaler/scaling-events.js";
import type { Recorder } from "../telemetry/recorder.js";
import { AsyncQueue } from "../turn/async-queue.js";
import { runBatch } from "../turn/batch.js";
import { runTurn, type TurnDeps, type TurnInput } from "../turn/turn.js";
import type { Audit } from "./auth/audit.js";
import { callerOf } from "./caller.js";
import type { PrincipalLimiter } from "./limits/principal-limiter.js";
import { scalingHandlers } from "./scaling-service.js";
import { statsReport } from "./stats-report.js";
import { type StatusSources, statusReport } from "./status-report.js";
import { serviceUsages, type UsageSources } from "./usage-report.js";
import { validateBatch, validateChat } from "./validate.js";

/** Counts turns in flight and refuses new ones past the configured bound. */
class Admission {
  private inFlight = 0;

  constructor(private readonly limit: number) {}

  /** Runs `work` if under the limit; RESOURCE_EXHAUSTED otherwise. */
  enter(): () => void {
    if (this.inFlight >= this.limit) {
      throw new RpcError(
        status.RESOURCE_EXHAUSTED,
        `${this.inFlight} turns in flight (orchestrator.max_concurrent_turns); retry later`,
      );
    }
    this.inFlight += 1;
    let left = false;
    return () => {
      if (!left) this.inFlight -= 1;
      left = true;
    };
  }
}

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
  const admission = new Admission(config.orchestrator.max_concurrent_turns);
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
    useContext: true,
  });
  return {
    async chat(request, context) {
      const { agents, aggregation } = validateChat(request, config);
      const input = turnInput(request, context, agents, aggregation);
      const leave = admission.enter();
      try {
        return await access.limiter.run(input.principal, () => runTurn(deps, input));
      } finally {
        leave();
      }
    },

    chatStream(request, context) {
      const { agents, aggregation } = validateChat(request, config);
      const queue = new AsyncQueue<MessageInitShape<typeof ChatEventSchema>>();
      const input: TurnInput = {
        ...turnInput(request, context, agents, aggregation),
        onEvent: (event) => queue.push(event),
      };
      const leave = admission.enter();
      access.limiter
        .run(input.principal, () => runTurn(deps, input))
        .then(
          (response) => {
            queue.push({ event: { case: "final", value: response } });
            queue.end();
          },
          (err: unknown) => queue.end(err),
        )
        .finally(leave);
      return queue;
    },

    batch(request, context) {
      const { messages, agents, fanout } = validateBatch(request, config);
      const deadline = context.deadline ?? new Date(Date.now() + timeout * Math.max(1, messages.length));
      const principal = callerOf(context, access.authEnabled);
      return runBatch(deps, {
        messages,
        agents,
        fanout,
        deadline,
        signal: context.signal,
        requestId: context.requestId,
        principal,
        around: (turn) => access.limiter.run(principal, turn),
      });
    },

    getStats: async () => statsReport(config, stats.recorder, await serviceUsages(stats)),

    getStatus: () => statusReport(sources),

    ...scalingHandlers(scaling.scaler, scaling.events, access),
  };
}
