// CPU per relayed token of ChatStream: `node --import tsx bench/src/stream-cost.ts [--profile
// zero|fast] [--concurrency N] [--seconds S]` (after `npm run build`). The bench's `stream` section
// on its own: streams turns through a `chorus up` mesh (one replica per pool) for S seconds at N in
// flight, then the same three answers straight from the simulator, and prints the CPU each process
// used per completion token the client received, with the messages that carried them.
import { parseArgs } from "node:util";
import { snapshotBundle } from "./mesh.js";
import type { ProfileName } from "./profiles.js";
import { cpuUsPerToken, type StreamRun, streamPoint } from "./section-stream.js";

const { values } = parseArgs({
  options: {
    profile: { type: "string", default: "zero" },
    concurrency: { type: "string", default: "8" },
    seconds: { type: "string", default: "10" },
  },
});
const profile = values.profile as ProfileName;
const concurrency = Number(values.concurrency);

function print(name: string, run: StreamRun): void {
  console.log(
    `${name}: ${run.turns} turns in ${run.usage.seconds.toFixed(1)} s, ${run.tokens} tokens in ${run.messages} messages ` +
      `(${(run.tokens / run.messages).toFixed(2)} tokens per message)`,
  );
  for (const service of run.usage.services)
    console.log(
      `  ${service.service.padEnd(20)} ${cpuUsPerToken(run, service.service).toFixed(1)} µs CPU per token`,
    );
  console.log(`  every process ${cpuUsPerToken(run).toFixed(1)} µs per token`);
}

const bundle = snapshotBundle();
try {
  const point = await streamPoint(bundle.path, profile, concurrency, 5000, Number(values.seconds) * 1000);
  console.log(`profile ${profile}, c=${concurrency}`);
  print("ChatStream", point.chorus);
  print("direct (three streamed completions from this process)", point.direct);
} finally {
  bundle.remove();
}
