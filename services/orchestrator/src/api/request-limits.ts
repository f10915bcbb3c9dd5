import type { ChorusConfig } from "@chorus/config";
import type { ChatService } from "@chorus/proto";
import { REQUEST_ENVELOPE_BYTES, type RequestBytes } from "@chorus/shared";

// A Batch message's own framing: its field tag and length varint.
const BATCH_ITEM_FRAMING_BYTES = 8;

/**
 * The largest request each ChatService method reads, from `limits`: Chat and ChatStream a message
 * plus the envelope, Batch its messages' total plus their framing; every other method the envelope.
 */
export function chatRequestBytes(limits: ChorusConfig["limits"]): RequestBytes<typeof ChatService> {
  const chat = limits.max_message_bytes + REQUEST_ENVELOPE_BYTES;
  const batch = limits.max_batch_bytes + limits.max_batch * BATCH_ITEM_FRAMING_BYTES + REQUEST_ENVELOPE_BYTES;
  return { chat, chatStream: chat, batch };
}
