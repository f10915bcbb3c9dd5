import { drive } from "./src/drive.js";
import { fixedPool, snapshotBundle, startMesh, startSimulatorProcess } from "./src/mesh.js";
import { summarize } from "./src/stats.js";
import { throughput } from "./src/load.js";
import { watchUsage } from "./src/usage.js";
import { spawnReady } from "./src/child.js";

const bundle = snapshotBundle();
const sim = await startSimulatorProcess(bundle.path, "zero");
console.log("sim", sim.url);
let t = performance.now();
const mesh = await startMesh({ bundle: bundle.path, llmBaseUrl: sim.url, profile: "zero", pool: fixedPool(64, 1) });
console.log("mesh", mesh.address, performance.now() - t, mesh.processes());
const echo = await spawnReady(process.execPath, ["--import", "tsx", "bench/src/echo-server.ts"], { ready: /ready at (\S+)/, timeoutMs: 20000 });
try {
  for (const c of [1, 16, 64]) {
    for (const procs of [1, 2]) {
      const u = watchUsage(() => [...mesh.processes(), { pid: sim.child.pid, service: "llm-sim" }, { pid: process.pid, service: "bench" }]);
      const r = await drive({ mode: "closed", concurrency: c, warmupMs: 1000, durationMs: 3000, maxCalls: 100000 }, { kind: "chat", address: mesh.address, tag: `c${c}p${procs}` }, procs);
      const usage = u.stop();
      console.log("chat c", c, "procs", procs, throughput(r).toFixed(1), summarize(r.samples.map((s) => s.latencyMs)), r.failed, JSON.stringify(usage));
      const r2 = await drive({ mode: "closed", concurrency: c, warmupMs: 500, durationMs: 2000, maxCalls: 1000000 }, { kind: "echo", address: echo.match, tag: "e" }, procs);
      console.log("echo c", c, throughput(r2).toFixed(1), summarize(r2.samples.map((s) => s.latencyMs)));
    }
  }
} finally {
  await echo.child.stop();
  await mesh.stop();
  await sim.stop();
  bundle.remove();
}
