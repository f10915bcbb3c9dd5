import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import OpenAI from "openai";
import type { SimulatorOptions } from "../options.js";
import { type RunningSimulator, startSimulator } from "../simulator.js";
import type { SimulatorStats } from "../stats.js";

/** Options without latency, for tests; each test overrides what it needs. */
export const zero: SimulatorOptions = {
  host: "127.0.0.1",
  port: 0,
  ttft_ms: 0,
  ttft_std_ms: 0,
  itl_ms: 0,
  itl_std_ms: 0,
  tokens: 24,
  max_concurrent: 8,
  queue_limit: 8,
  slowdown: 0,
  failure_rate: 0,
  seed: 42,
};

/** A persona and a question, as an agent would send them. */
export const messages = [
  { role: "system" as const, content: "You are a creative assistant." },
  { role: "user" as const, content: "Explain how lighthouses guide ships at night." },
];

/** An official SDK client of `sim` that never retries. */
export function clientOf(sim: RunningSimulator): OpenAI {
  return new OpenAI({ baseURL: sim.url, apiKey: "sim", maxRetries: 0 });
}

/** POSTs `body` (JSON-encoded unless already a string) to the chat completions route. */
export function post(sim: RunningSimulator, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${sim.url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal: signal ?? null,
  });
}

/** Polls the simulator's stats until `ready` holds, failing after five seconds. */
export async function until(
  sim: RunningSimulator,
  ready: (stats: SimulatorStats) => boolean,
): Promise<SimulatorStats> {
  for (let i = 0; i < 500; i++) {
    const stats = sim.stats();
    if (ready(stats)) return stats;
    await sleep(10);
  }
  assert.fail(`stats never reached the expected state: ${JSON.stringify(sim.stats())}`);
}

/** Runs `run` against a fresh simulator with `options` over the zero profile, then closes it. */
export async function withSimulator(
  options: Partial<SimulatorOptions>,
  run: (sim: RunningSimulator) => Promise<void>,
): Promise<void> {
  const sim = await startSimulator({ ...zero, ...options });
  try {
    await run(sim);
  } finally {
    await sim.close();
  }
}
