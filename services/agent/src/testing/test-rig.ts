import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { type ChorusConfig, validateConfig } from "@chorus/config";
import { type RunningSimulator, type SimulatorOptions, startSimulator } from "@chorus/llm-sim";
import { AgentService } from "@chorus/proto";
import { createClient, createLogger, type PromiseClient } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { type RunningAgent, runAgent } from "../run-agent.js";

/** Simulator options without latency, for tests; each test overrides what it needs. */
export const zeroSimulator: SimulatorOptions = {
  host: "127.0.0.1",
  port: 0,
  ttft_ms: 0,
  ttft_std_ms: 0,
  itl_ms: 0,
  itl_std_ms: 0,
  tokens: 16,
  max_concurrent: 16,
  queue_limit: 16,
  slowdown: 0,
  failure_rate: 0,
  seed: 42,
};

/** A config with one agent, "tester", that has a single worker. */
export const testConfig: ChorusConfig = validateConfig(
  {
    llm: { timeout_ms: 10_000 },
    limits: { max_message_bytes: 4096, max_context_messages: 8, max_context_bytes: 1024 },
    security: { mesh: { mode: "off" } },
    agents: [
      {
        name: "tester",
        model: "sim-model",
        temperature: 0.5,
        max_tokens: 64,
        workers: 1,
        system_prompt: "You are a meticulous tester. Answer briefly.",
      },
    ],
  },
  "(test)",
);

/** A logger that writes nothing. */
export const silent = createLogger("agent-test", "silent");

/** A deadline ten seconds from now. */
export const soon = (): Date => new Date(Date.now() + 10_000);

/** A simulator, an agent replica using it, and a client of the replica. */
export interface Rig {
  sim: RunningSimulator;
  agent: RunningAgent;
  client: PromiseClient<typeof AgentService>;
  close(): Promise<void>;
}

/** Starts a simulator with `simOptions` and a "tester" replica in front of it, on free ports. */
export async function startRig(simOptions: Partial<SimulatorOptions> = {}, metricsPort = -1): Promise<Rig> {
  const sim = await startSimulator({ ...zeroSimulator, ...simOptions });
  const agent = await runAgent({
    config: testConfig,
    agent: "tester",
    host: "127.0.0.1",
    port: 0,
    replicaId: "tester-0",
    llmBaseUrl: sim.url,
    apiKey: "sim",
    metricsPort,
    log: silent,
  });
  const client = createClient(AgentService, agent.address);
  return {
    sim,
    agent,
    client,
    close: async () => {
      client.close();
      await agent.close(100);
      await sim.close();
    },
  };
}

/** Polls `ready` every 10 ms, failing after five seconds. */
export async function eventually(what: string, ready: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await ready()) return;
    await sleep(10);
  }
  assert.fail(`${what} never happened`);
}

/** Waits until the replica's Describe reports `expected` generations in flight. */
export function inFlightBecomes(client: Rig["client"], expected: number): Promise<void> {
  return eventually(
    `in_flight = ${expected}`,
    async () => (await client.describe({}, { deadline: soon() })).inFlight === expected,
  );
}

/** An assert.rejects validator for a gRPC error with `code` and details matching `pattern`. */
export function rejectsWith(code: status, pattern?: RegExp) {
  return (err: { code: number; details: string }) => {
    assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code]}: ${err.details}`);
    if (pattern) assert.match(err.details, pattern);
    return true;
  };
}
