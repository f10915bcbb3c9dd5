import type { SupervisedServiceReport, SupervisorReport } from "@chorus/shared";

/** A GetStatus component. */
export interface StatusComponent {
  readonly name: string;
  readonly healthy: boolean;
  readonly detail: string;
}

function serviceLine(s: SupervisedServiceReport): string {
  const state = s.running ? `up (pid ${s.pid})` : "down, restarting";
  const restarts = `${s.restarts} restart${s.restarts === 1 ? "" : "s"}`;
  const back = s.running && s.lastRestartMs !== undefined ? `, back in ${s.lastRestartMs} ms` : "";
  const last = s.lastExit ? ` (last died: ${s.lastExit}${back})` : "";
  return `${s.name} ${state}, ${restarts}${last}`;
}

/** GetStatus's "supervisor" component: what `chorus up` restarted, and whether every service is up. */
export function supervisorComponent(report: SupervisorReport): StatusComponent {
  return {
    name: "supervisor",
    healthy: report.services.every((s) => s.running),
    detail:
      `chorus up (pid ${report.pid}) restarts a service that dies; ` +
      `${report.crashLoopRestarts + 1} crashes of one within ${report.windowSeconds} s stop the mesh. ` +
      report.services.map(serviceLine).join("; "),
  };
}
