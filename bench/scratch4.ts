import { fixedPool, snapshotBundle, startMesh, startSimulatorProcess } from "./src/mesh.js";
import { runLoad, throughput } from "./src/load.js";
import { summarize } from "./src/stats.js";
import { openTarget } from "./src/targets.js";
import { watchUsage } from "./src/usage.js";
const bundle = snapshotBundle();
const sim = await startSimulatorProcess(bundle.path, "zero");
const mesh = await startMesh({ bundle: bundle.path, llmBaseUrl: sim.url, profile: "zero", pool: fixedPool(64, 1) });
try {
  const t = await openTarget({ kind: "chat", address: mesh.address, tag: "z" });
  for (const c of [1, 1, 4, 16]) {
    const u = watchUsage(() => [...mesh.processes(), { pid: sim.child.pid, service: "llm-sim" }, { pid: process.pid, service: "bench" }]);
    const r = await runLoad({ mode: "closed", concurrency: c, warmupMs: 0, durationMs: 4000, maxCalls: 100000 }, t.call);
    const usage = u.stop();
    const tp = throughput(r);
    console.log(`c=${c} tput=${tp.toFixed(1)} p50=${summarize(r.samples.map((s) => s.latencyMs)).p50} machine=${usage.machineBusyCores}`);
    for (const s of usage.services) console.log(`   ${s.service.padEnd(18)} cores=${s.cpuCores.toFixed(3)} ms/turn=${(1000 * s.cpuCores / tp).toFixed(2)} rss=${s.rssMb}`);
  }
} finally {
  await mesh.stop();
  await sim.stop();
  bundle.remove();
}
