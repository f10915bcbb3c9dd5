import type { Logger } from "pino";

/** Tells a parent process (if forked with IPC) that this service is ready at `address`. */
export function announceReady(service: string, address: string, extra: Record<string, unknown> = {}): void {
  const message = { type: "ready", service, address, ...extra };
  if (process.send) process.send(message);
}

/** Runs `stop` once on SIGINT/SIGTERM or parent disconnect, then exits. */
export function stopOnSignals(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handle = (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, "shutting down");
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => handle("SIGINT"));
  process.once("SIGTERM", () => handle("SIGTERM"));
  // A forked service must not outlive its parent: losing the IPC channel means the parent is gone.
  if (process.send) process.once("disconnect", () => handle("parent exited"));
}
