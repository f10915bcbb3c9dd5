import { defaultAgents } from "@chorus/config";
import { ChatService } from "@chorus/proto";
import { createClient } from "@chorus/shared";
import { loadGenerators } from "./measure.js";
import { fixedPool, startMesh, startSimulatorProcess } from "./mesh.js";
import type { BenchOptions } from "./options.js";
import type { ProfileName } from "./profiles.js";
import { QUESTION } from "./targets.js";
import { round, type UsageReport, watchUsage } from "./usage.js";

/** One streamed load: what arrived at the client, and the CPU each process used meanwhile. */
export interface StreamRun {
  readonly turns: number;
  /** Completion tokens the client received (three answers per turn). */
  readonly tokens: number;
  /** Messages that carried them: ChatStream delta events, or the simulator's SSE chunks for direct. */
  readonly messages: number;
  readonly usage: UsageReport;
}

/** ChatStream through the mesh against the same three answers streamed straight from the simulator. */
export interface StreamPoint {
  readonly profile: ProfileName;
  readonly concurrency: number;
  readonly chorus: StreamRun;
  readonly direct: StreamRun;
}

/** CPU per relayed token of ChatStream, beside direct streaming, per profile. */
export interface StreamSection {
  readonly windowS: number;
  readonly points: StreamPoint[];
}

/** µs of CPU per token received, of `service` (every watched process when absent). */
export function cpuUsPerToken(run: StreamRun, service?: string): number {
  const chosen = run.usage.services.filter((s) => service === undefined || s.service === service);
  const cpuSeconds = chosen.reduce((sum, s) => sum + s.cpuCores, 0) * run.usage.seconds;
  return run.tokens > 0 ? round((cpuSeconds / run.tokens) * 1e6, 1) : Number.NaN;
}

type Turn = (tag: string) => Promise<{ tokens: number; messages: number }>;

function chatStreamTurn(address: string): { turn: Turn; close(): void } {
  const chat = createClient(ChatService, address);
  return {
    async turn(tag) {
      let tokens = 0;
      let messages = 0;
      const stream = chat.chatStream(
        { message: `${tag}: ${QUESTION}` },
        { deadline: new Date(Date.now() + 60_000) },
      );
      for await (const event of stream) {
        if (event.event.case === "delta") messages += 1;
        else if (event.event.case === "agentDone") tokens += event.event.value.completionTokens;
      }
      return { tokens, messages };
    },
    close: () => chat.close(),
  };
}

/** The three personas' answers streamed from the simulator at once, read to the end, counted. */
function directStreamTurn(baseUrl: string): Turn {
  const one = async (agent: (typeof defaultAgents)[number], message: string) => {
    const response = await fetch(`${baseUrl}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer chorus-bench" },
      body: JSON.stringify({
        model: agent.model,
        temperature: agent.temperature,
        max_tokens: agent.max_tokens,
        stream: true,
        stream_options: { include_usage: true },
        messages: [
          { role: "system", content: agent.system_prompt },
          { role: "user", content: message },
        ],
      }),
    });
    if (!response.ok || !response.body) throw new Error(`llm-sim ${response.status}`);
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of response.body) text += decoder.decode(chunk, { stream: true });
    const events = text.split("\n\n").filter((e) => e.startsWith("data: {"));
    const usage = events.map((e) => /"completion_tokens":(\d+)/.exec(e)?.[1]).find(Boolean);
    return { tokens: Number(usage ?? 0), messages: events.filter((e) => e.includes('"content"')).length };
  };
  return async (tag) => {
    const answers = await Promise.all(defaultAgents.map((agent) => one(agent, `${tag}: ${QUESTION}`)));
    return {
      tokens: answers.reduce((sum, a) => sum + a.tokens, 0),
      messages: answers.reduce((sum, a) => sum + a.messages, 0),
    };
  };
}

/** Runs `turn` at `concurrency` for `ms`: counted and CPU-watched when `processes` is given. */
async function streamLoad(
  turn: Turn,
  concurrency: number,
  ms: number,
  tag: string,
  processes?: () => { pid: number; service: string }[],
): Promise<StreamRun | undefined> {
  const counts = { turns: 0, tokens: 0, messages: 0 };
  const watch = processes && watchUsage(() => [...processes(), ...loadGenerators()], 250);
  const end = performance.now() + ms;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const got = await turn(`${tag} ${next++}`);
        counts.turns += 1;
        counts.tokens += got.tokens;
        counts.messages += got.messages;
      }
    }),
  );
  return watch && { ...counts, usage: watch.stop() };
}

/**
 * ChatStream turns through a `chorus up` mesh (one replica per pool), then the same three answers
 * streamed straight from the simulator by this process, each after an unrecorded warm-up; the CPU
 * of every process over each window, to divide by the completion tokens the client received.
 */
export async function streamPoint(
  bundle: string,
  profile: ProfileName,
  concurrency: number,
  warmupMs: number,
  durationMs: number,
): Promise<StreamPoint> {
  const sim = await startSimulatorProcess(bundle, profile);
  const simProcess = { pid: sim.child.pid, service: "llm-sim" };
  try {
    const pool = fixedPool(Math.max(4, concurrency), 1);
    const mesh = await startMesh({ bundle, llmBaseUrl: sim.url, profile, pool });
    let chorus: StreamRun | undefined;
    try {
      const client = chatStreamTurn(mesh.address);
      try {
        await streamLoad(client.turn, concurrency, warmupMs, "stream-warmup");
        chorus = await streamLoad(client.turn, concurrency, durationMs, "stream", () => [
          ...mesh.processes(),
          simProcess,
        ]);
      } finally {
        client.close();
      }
    } finally {
      await mesh.stop();
    }
    const direct = directStreamTurn(sim.url);
    await streamLoad(direct, concurrency, warmupMs, "direct-stream-warmup");
    const directRun = await streamLoad(direct, concurrency, durationMs, "direct-stream", () => [simProcess]);
    return { profile, concurrency, chorus: chorus as StreamRun, direct: directRun as StreamRun };
  } finally {
    await sim.stop();
  }
}

/** The stream section: every planned profile at its concurrency. */
export async function streamSection(options: BenchOptions, bundle: string): Promise<StreamSection> {
  const plan = options.stream;
  if (!plan) throw new Error("the stream section has no settings in these options");
  const points: StreamPoint[] = [];
  for (const profile of plan.profiles) {
    const point = await streamPoint(bundle, profile, plan.concurrency, plan.warmupMs, plan.durationMs);
    points.push(point);
    process.stderr.write(
      `bench: stream ${profile} c=${plan.concurrency}: ChatStream ${cpuUsPerToken(point.chorus)} µs CPU per token ` +
        `(${point.chorus.tokens} tokens in ${point.chorus.messages} deltas), direct ${cpuUsPerToken(point.direct)} µs\n`,
    );
  }
  return { windowS: plan.durationMs / 1000, points };
}
