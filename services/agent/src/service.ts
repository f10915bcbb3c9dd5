import type { AgentService } from "@chorus/proto";
import { processUsage, type ServiceHandlers } from "@chorus/shared";
import type { AgentDeps } from "./agent-deps.js";
import { Generation } from "./generation.js";
import type { TaskChannels } from "./task-channels.js";
import { validate } from "./validate.js";

/** The chorus.v1.AgentService handlers for one replica; `channels` serves its task channels. */
export function agentHandlers(deps: AgentDeps, channels: TaskChannels): ServiceHandlers<typeof AgentService> {
  const { agent, load } = deps;
  return {
    async generate(request, context) {
      validate(request, deps);
      const generation = new Generation(deps, request, context);
      try {
        return generation.response(await deps.llm.complete(generation.llmRequest()));
      } catch (err) {
        throw generation.failure(err);
      }
    },

    async *generateStream(request, context) {
      validate(request, deps);
      const generation = new Generation(deps, request, context);
      try {
        for await (const event of deps.llm.stream(generation.llmRequest())) {
          if (event.type === "delta") yield { event: { case: "delta" as const, value: event.text } };
          else yield { event: { case: "done" as const, value: generation.response(event.result) } };
        }
      } catch (err) {
        throw generation.failure(err);
      } finally {
        generation.close();
      }
    },

    async describe() {
      return {
        agent: agent.name,
        model: agent.model,
        temperature: agent.temperature,
        maxTokens: agent.max_tokens,
        workers: load.workers,
        inFlight: load.inFlight,
        replicaId: deps.replicaId,
        completed: BigInt(load.completed),
        failed: BigInt(load.failed),
        uptimeSeconds: load.uptimeSeconds(),
        idleSeconds: load.idleSeconds(),
        pid: process.pid,
        usage: processUsage(),
        modelBreaker: deps.llm.breaker?.(),
      };
    },

    taskChannel: (requests, context) => channels.serve(requests, context),
  };
}
