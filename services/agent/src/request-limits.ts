import type { ChorusConfig } from "@chorus/config";
import type { AgentService } from "@chorus/proto";
import { REQUEST_ENVELOPE_BYTES, type RequestBytes } from "@chorus/shared";

// A context message's framing beyond its content: tags, lengths and its role ("assistant" at most).
const CONTEXT_MESSAGE_FRAMING_BYTES = 32;
const TASK_FRAMING_BYTES = 256;

/**
 * The largest request each AgentService method reads, from `limits`: Generate and GenerateStream a
 * message and its context at their limits plus the envelope, a TaskChannel message as much and a
 * task's framing; Describe the envelope.
 */
export function agentRequestBytes(limits: ChorusConfig["limits"]): RequestBytes<typeof AgentService> {
  const generate =
    limits.max_message_bytes +
    limits.max_context_bytes +
    limits.max_context_messages * CONTEXT_MESSAGE_FRAMING_BYTES +
    REQUEST_ENVELOPE_BYTES;
  // A task on the channel is a GenerateRequest plus its id, flags, timeout and request id.
  return { generate, generateStream: generate, taskChannel: generate + TASK_FRAMING_BYTES };
}
