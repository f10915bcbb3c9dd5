import { z } from "zod";
import { about, positiveInt } from "./schema-parts.js";

/** How `chorus up` restarts the services it starts; in Kubernetes the kubelet restarts pods instead. */
export const supervisorSchema = z
  .object({
    restart_backoff_ms: positiveInt
      .default(100)
      .meta(
        about("Wait (ms) before a service that died is restarted; doubles with each of its recent crashes."),
      ),
    max_restart_backoff_ms: positiveInt.default(5000).meta(about("Longest wait (ms) before a restart.")),
    crash_loop_restarts: z
      .number()
      .int()
      .min(0)
      .default(5)
      .meta(
        about(
          "Restarts of one service within crash_loop_window_seconds; one more crash is a crash loop and stops the mesh (0: stop at the first crash).",
        ),
      ),
    crash_loop_window_seconds: positiveInt
      .default(60)
      .meta(about("How far back (s) crashes count towards crash_loop_restarts.")),
  })
  .strict();
