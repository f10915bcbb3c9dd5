import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { supervisorComponent } from "./supervisor-status.js";

const report = {
  type: "supervisor" as const,
  pid: 100,
  crashLoopRestarts: 5,
  windowSeconds: 60,
  services: [
    { name: "history", pid: 201, running: true, restarts: 1, lastExit: "SIGKILL", lastRestartMs: 640 },
    { name: "llm-sim", pid: 102, running: true, restarts: 0 },
    { name: "orchestrator", pid: 103, running: true, restarts: 0 },
  ],
};

describe("supervisorComponent", () => {
  it("names each service's pid, restarts, how it last died and how long it took to come back", () => {
    const component = supervisorComponent(report);
    assert.equal(component.name, "supervisor");
    assert.equal(component.healthy, true);
    assert.match(
      component.detail,
      /history up \(pid 201\), 1 restart \(last died: SIGKILL, back in 640 ms\)/,
    );
    assert.match(component.detail, /llm-sim up \(pid 102\), 0 restarts;/);
    assert.match(component.detail, /6 crashes of one within 60 s stop the mesh/);
  });

  it("is unhealthy while a service is down, without a stale recovery time", () => {
    const down = { name: "history", running: false, restarts: 1, lastExit: "code 1", lastRestartMs: 640 };
    const component = supervisorComponent({ ...report, services: [down, ...report.services.slice(1)] });
    assert.equal(component.healthy, false);
    assert.match(component.detail, /history down, restarting, 1 restart \(last died: code 1\)/);
  });
});
