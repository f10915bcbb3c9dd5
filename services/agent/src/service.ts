import type { AgentService } from "@chorus/proto";
import { invalidArgument, processUsage, quoted, type ServiceHandlers } from "@chorus/shared";
import type { AgentDeps } from "./agent-deps.js";
import { Generation, type GenerationRequest } from "./generation.js";

type Limits = Pick<AgentDeps, "maxMessageBytes" | "maxContextMessages" | "maxContextBytes">;

function validate(request: GenerationRequest, limits: Limits): void {
  if (request.message.trim().length === 0) invalidArgument("message", "must not be empty");
  if (Buffer.byteLength(request.message) > limits.maxMessageBytes) {
    invalidArgument("message", `must be at most ${limits.maxMessageBytes} bytes`);
  }
  const { context } = request;
  if (context.length > limits.maxContextMessages) {
    invalidArgument(
      "context",
      `has ${context.length} messages; the limit is ${limits.maxContextMessages} (limits.max_context_messages)`,
    );
  }
  let bytes = 0;
  for (const [index, turn] of context.entries()) {
    if (turn.role !== "user" && turn.role !== "assistant") {
      invalidArgument(`context[${index}].role`, `must be "user" or "assistant", not ${quoted(turn.role)}`);
    }
    bytes += Buffer.byteLength(turn.content);
  }
  if (bytes > limits.maxContextBytes) {
    invalidArgument(
      "context",
      `is ${bytes} bytes in all; the limit is ${limits.maxContextBytes} (limits.max_context_bytes)`,
    );
  }
}

/** The chorus.v1.AgentService handlers for one replica. */
export function agentHandlers(deps: AgentDeps): ServiceHandlers<typeof AgentService> {
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
  };
}
