import { z } from "zod";
import { about, positiveInt } from "./schema-parts.js";

const KIB = 1024;

/**
 * `limits`: what one request may carry and what one connection may hold. Every server derives its
 * per-method receive limits from these, so memory is bounded by this section, not by callers.
 */
export const limitsSchema = z
  .object({
    max_message_bytes: positiveInt
      .default(32 * KIB)
      .meta(about("Largest chat message accepted; a longer one gets INVALID_ARGUMENT.")),
    max_batch: positiveInt.default(1000).meta(about("Most messages in one Batch call.")),
    max_batch_bytes: positiveInt
      .default(1024 * KIB)
      .meta(
        about(
          "Largest total (UTF-8 bytes) of a Batch's messages; the largest request the public port reads.",
        ),
      ),
    batch_concurrency: positiveInt.default(32).meta(about("Batch tasks in flight at once.")),
    max_context_messages: positiveInt
      .default(200)
      .meta(about("Most earlier messages an agent accepts as context with one message.")),
    max_context_bytes: positiveInt
      .default(256 * KIB)
      .meta(about("Largest total (UTF-8 bytes) of those context messages.")),
    max_turn_bytes: positiveInt
      .default(4096 * KIB)
      .meta(about("Largest turn (message, answers and metadata) history stores, as sent.")),
    max_metadata_bytes: z
      .number()
      .int()
      .min(KIB)
      .default(16 * KIB)
      .meta(about("Largest request metadata (headers) a server accepts; more gets RESOURCE_EXHAUSTED.")),
    max_concurrent_streams: positiveInt
      .default(128)
      .meta(about("Calls one client connection may have open at once on any server; more wait.")),
    session_memory_mb: positiveInt
      .default(32)
      .meta(
        about(
          "HTTP/2 memory (MB: headers, queued output) one connection may hold; past it, new calls are refused.",
        ),
      ),
    heap_mb: z
      .number()
      .int()
      .refine((mb) => mb === 0 || (mb >= 64 && mb <= 65_536), "must be 0 (V8's default) or 64 to 65536")
      .default(384)
      .meta(
        about(
          "V8 old-space ceiling (MB) of each process `chorus up` starts; 0: V8's default (~4 GB on a 24 GiB machine).",
        ),
      ),
  })
  .strict();
