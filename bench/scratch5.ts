import { snapshotBundle, startSimulatorProcess } from "./src/mesh.js";
import { parslPython, runParslLevels } from "./src/parsl.js";
import { throughput } from "./src/load.js";
import { summarize } from "./src/stats.js";
const bundle = snapshotBundle();
const sim = await startSimulatorProcess(bundle.path, process.argv[2] as "zero");
try {
  const py = parslPython();
  const t = performance.now();
  const r = await runParslLevels(py, sim.url, { levels: [1, 4, 16], warmupS: 1, durationS: 3, workers: Number(process.argv[3] ?? 16), maxTurns: 100000 });
  console.log("startup", r.startupS, r.workers, performance.now() - t);
  for (const l of r.levels) console.log(l.concurrency, throughput(l.result).toFixed(1), JSON.stringify(summarize(l.result.samples.map((s) => s.latencyMs))), l.result.failed, JSON.stringify(l.usage?.services));
} finally { await sim.stop(); bundle.remove(); }
