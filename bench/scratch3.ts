import { fixedPool, snapshotBundle, startMesh, startSimulatorProcess } from "./src/mesh.js";
import { runLoad } from "./src/load.js";
import { summarize } from "./src/stats.js";
import { openTarget } from "./src/targets.js";
const dir = process.argv[2]!;
const c = Number(process.argv[3] ?? 1);
const bundle = snapshotBundle();
const sim = await startSimulatorProcess(bundle.path, "zero");
const mesh = await startMesh({ bundle: bundle.path, llmBaseUrl: sim.url, profile: "zero", pool: fixedPool(64, 1), execArgv: ["--cpu-prof", `--cpu-prof-dir=${dir}`] });
const spec = { mode: "closed" as const, concurrency: c, warmupMs: 1000, durationMs: 6000, maxCalls: 100000 };
try {
  const t = await openTarget({ kind: "chat", address: mesh.address, tag: "z" });
  const r = await runLoad(spec, t.call);
  console.log("chat", JSON.stringify(summarize(r.samples.map((s) => s.latencyMs))), r.failed);
} finally {
  await mesh.stop();
  await sim.stop();
  bundle.remove();
}
