// CPU per relayed token of ChatStream: `node --import tsx bench/src/stream-cost.ts [--profile
// zero|fast] [--concurrency N] [--seconds S]` (after `npm run build`). Starts the bench simulator
// with the profile and a `chorus up` mesh (one replica per pool), streams turns from this process
// for S seconds at N in flight, and prints the CPU each process used per completion token the
// client received, with the stream messages that carried them.
import { parseArgs } from "node:util";
import { ChatService } from "@chorus/proto";
import { createClient } from "@chorus/shared";
import { fixedPool, snapshotBundle, startMesh, startSimulatorProcess } from "./mesh.js";
import type { ProfileName } from "./profiles.js";
import { watchUsage } from "./usage.js";

const { values } = parseArgs({
  options: {
    profile: { type: "string", default: "zero" },
    concurrency: { type: "string", default: "8" },
    seconds: { type: "string", default: "10" },
  },
});
const profile = values.profile as ProfileName;
const concurrency = Number(values.concurrency);
const seconds = Number(values.seconds);

const bundle = snapshotBundle();
const sim = await startSimulatorProcess(bundle.path, profile);
const mesh = await startMesh({ bundle: bundle.path, llmBaseUrl: sim.url, profile, pool: fixedPool(32, 1) });
const chat = createClient(ChatService, mesh.address);
const counts = { turns: 0, tokens: 0, deltas: 0 };

async function turn(tag: string, count: boolean): Promise<void> {
  const stream = chat.chatStream({ message: tag }, { deadline: new Date(Date.now() + 60_000) });
  for await (const event of stream) {
    if (!count) continue;
    if (event.event.case === "delta") counts.deltas += 1;
    else if (event.event.case === "agentDone") counts.tokens += event.event.value.completionTokens;
  }
  if (count) counts.turns += 1;
}

async function load(ms: number, count: boolean, tag: string): Promise<void> {
  const end = performance.now() + ms;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) await turn(`${tag} ${next++}`, count);
    }),
  );
}

try {
  await load(5000, false, "warm-up");
  const processes = () => [...mesh.processes(), { pid: sim.child.pid, service: "llm-sim" }];
  const watch = watchUsage(processes, 250);
  await load(seconds * 1000, true, "measured");
  const usage = watch.stop();
  const perToken = (cores: number) => ((cores * usage.seconds) / counts.tokens) * 1e6;
  console.log(
    `profile ${profile}, c=${concurrency}, ${usage.seconds.toFixed(1)} s: ${counts.turns} turns, ` +
      `${counts.tokens} tokens relayed in ${counts.deltas} delta events (${(counts.tokens / counts.deltas).toFixed(2)} tokens per event)`,
  );
  let relay = 0;
  let all = 0;
  for (const service of usage.services) {
    const us = perToken(service.cpuCores);
    all += us;
    if (service.service === "orchestrator" || service.service.startsWith("agent")) relay += us;
    console.log(`  ${service.service.padEnd(20)} ${us.toFixed(1)} µs CPU per token`);
  }
  console.log(`  orchestrator + agents ${relay.toFixed(1)} µs; every process ${all.toFixed(1)} µs per token`);
} finally {
  chat.close();
  await mesh.stop();
  await sim.stop();
  bundle.remove();
}
