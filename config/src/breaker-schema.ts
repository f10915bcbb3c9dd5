import { z } from "zod";
import { about, positiveInt } from "./schema-parts.js";

/** The `llm.breaker:` section: each agent's circuit breaker on its model endpoint. */
export const breakerSchema = z
  .object({
    failures: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(5)
      .meta(
        about(
          "Consecutive connection failures or HTTP 5xx that open an agent's breaker: its tasks then fail at once with UNAVAILABLE naming the endpoint (0: no breaker).",
        ),
      ),
    cooldown_ms: positiveInt
      .max(600_000)
      .default(500)
      .meta(
        about(
          "How long (ms) an open breaker fails tasks before one probe request (one at a time) tries the model; its answer closes the breaker.",
        ),
      ),
  })
  .strict();
