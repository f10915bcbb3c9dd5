import type { AgentService } from "@chorus/proto";
import { invalidArgument, processUsage, type ServiceHandlers } from "@chorus/shared";
import type { AgentDeps } from "./agent-deps.js";
import { Generation, type GenerationRequest } from "./generation.js";

function validate(request: GenerationRequest, maxMessageBytes: number): void {
  if (request.message.trim().length === 0) invalidArgument("message", "must not be empty");
  if (Buffer.byteLength(request.message) > maxMessageBytes) {
    invalidArgument("message", `must be at most ${maxMessageBytes} bytes`);
  }
  for (const [index, turn] of request.context.entries()) {
    if (turn.role !== "user" && turn.role !== "assistant") {
      invalidArgument(`context[${index}].role`, `must be "user" or "assistant", not "${turn.role}"`);
    }
  }
}

/** The chorus.v1.AgentService handlers for one replica. */
export function agentHandlers(deps: AgentDeps): ServiceHandlers<typeof AgentService> {
  const { agent, load } = deps;
  return {
    async generate(request, context) {
      validate(request, deps.maxMessageBytes);
      const generation = new Generation(deps, request, context);
      try {
        return generation.response(await deps.llm.complete(generation.llmRequest()));
      } catch (err) {
        throw generation.failure(err);
      }
    },

    async *generateStream(request, context) {
      validate(request, deps.maxMessageBytes);
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
      };
    },
  };
}
