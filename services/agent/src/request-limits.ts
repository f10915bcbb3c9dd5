import type { ChorusConfig } from "@chorus/config";
import type { AgentService } from "@chorus/proto";
import { REQUEST_ENVELOPE_BYTES, type RequestBytes } from "@chorus/shared";

// A context message's framing beyond its content: tags, lengths and its role ("assistant" at most).
const CONTEXT_MESSAGE_FRAMING_BYTES = 32;

/**
 * The largest request each AgentService method reads, from `limits`: Generate and GenerateStream a
 * message and its context at their limits plus the envelope; Describe the envelope.
 */
export function agentRequestBytes(limits: ChorusConfig["limits"]): RequestBytes<typeof AgentService> {
  const generate =
    limits.max_message_bytes +
    limits.max_context_bytes +
    limits.max_context_messages * CONTEXT_MESSAGE_FRAMING_BYTES +
    REQUEST_ENVELOPE_BYTES;
  return { generate, generateStream: generate };
}
