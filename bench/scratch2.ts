import { AgentService, ChatService, HistoryService } from "@chorus/proto";
import { createClient } from "@chorus/shared";
import { fixedPool, snapshotBundle, startMesh, startSimulatorProcess } from "./src/mesh.js";
import { runLoad } from "./src/load.js";
import { summarize } from "./src/stats.js";
import { cmdlineOf } from "./src/proc.js";
import { openTarget } from "./src/targets.js";

const bundle = snapshotBundle();
const sim = await startSimulatorProcess(bundle.path, "zero");
const mesh = await startMesh({ bundle: bundle.path, llmBaseUrl: sim.url, profile: "zero", pool: fixedPool(64, 1) });
const spec = { mode: "closed" as const, concurrency: 1, warmupMs: 500, durationMs: 2000, maxCalls: 100000 };
const show = (name: string, r: Awaited<ReturnType<typeof runLoad>>) => console.log(name, JSON.stringify(summarize(r.samples.map((s) => s.latencyMs))), r.failed);
try {
  const chat = createClient(ChatService, mesh.address);
  const status = await chat.getStatus({});
  const agentAddr = status.pools[0]!.replicas[0]!.address;
  const orch = mesh.processes().find((p) => p.service === "orchestrator")!;
  const args = cmdlineOf(orch.pid);
  const histAddr = args[args.indexOf("--history-address") + 1]!;
  console.log(agentAddr, histAddr);
  const llm = await openTarget({ kind: "llm", baseUrl: sim.url, tag: "x" });
  show("llm-3-parallel-fetch", await runLoad(spec, llm.call));
  const agent = createClient(AgentService, agentAddr);
  show("agent.generate", await runLoad(spec, async (i) => { await agent.generate({ turnId: "t", message: `m ${i} hello` }); return { ok: true }; }));
  const hist = createClient(HistoryService, histAddr);
  show("history.appendTurn", await runLoad(spec, async (i) => {
    await hist.appendTurn({ turn: { turnId: crypto.randomUUID(), conversationId: crypto.randomUUID(), message: `m ${i}`, answer: "a".repeat(400), aggregation: 1, agentAnswers: [1,2,3].map((k) => ({ agent: "creative", text: "b".repeat(400), ok: true, latencyMs: 1 })), latencyMs: 1, startedAtMs: 1n, completedAtMs: 2n }, createConversation: true });
    return { ok: true };
  }));
  const t = await openTarget({ kind: "chat", address: mesh.address, tag: "z" });
  show("chat", await runLoad(spec, t.call));
  show("chat", await runLoad(spec, t.call));
} finally {
  await mesh.stop();
  await sim.stop();
  bundle.remove();
}
