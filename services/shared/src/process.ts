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

/** One service as `chorus up` supervises it. */
export interface SupervisedServiceReport {
  readonly name: string;
  readonly pid?: number | undefined;
  /** False from its death until its restarted process is ready. */
  readonly running: boolean;
  /** Times it was restarted since `chorus up` started. */
  readonly restarts: number;
  /** How it last died: "SIGKILL", "code 1", "exited with code 1 before it was ready", ... */
  readonly lastExit?: string | undefined;
  /** From its last death until its restarted process was ready (ms). */
  readonly lastRestartMs?: number | undefined;
}

/** What `chorus up` sends the orchestrator over IPC whenever a service it supervises starts, dies or is back. */
export interface SupervisorReport {
  readonly type: "supervisor";
  /** The pid of `chorus up`. */
  readonly pid: number;
  /** Restarts of one service within windowSeconds before a crash loop stops the mesh. */
  readonly crashLoopRestarts: number;
  readonly windowSeconds: number;
  readonly services: readonly SupervisedServiceReport[];
}

function isSupervisorReport(message: unknown): message is SupervisorReport {
  const report = message as Partial<SupervisorReport> | null;
  return report?.type === "supervisor" && Array.isArray(report.services);
}

/**
 * Keeps the latest SupervisorReport a parent `chorus up` sent over IPC; the getter returns
 * undefined until one arrives (always, for a process no supervisor started).
 */
export function supervisorReports(): () => SupervisorReport | undefined {
  let latest: SupervisorReport | undefined;
  if (process.send) {
    process.on("message", (message: unknown) => {
      if (isSupervisorReport(message)) latest = message;
    });
  }
  return () => latest;
}
