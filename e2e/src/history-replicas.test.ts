import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CLI_BUNDLE } from "@chorus/cli/testing";
import { type PostgresServer, startPostgresServer } from "@chorus/history/testing";
import { ChatService, HistoryService } from "@chorus/proto";
import { createClient, type PromiseClient } from "@chorus/shared";
import { freePort } from "@chorus/shared/testing";
import { status } from "@grpc/grpc-js";
import { stringify } from "yaml";

interface Started {
  readonly child: ChildProcess;
  readonly address: string;
  output(): string;
}

/** Runs `chorus <args>` and waits (bounded) for its ready message over IPC. */
function startService(args: string[], env: NodeJS.ProcessEnv): Promise<Started> {
  const child = spawn(process.execPath, [CLI_BUNDLE, ...args], {
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`chorus ${args[0]} not ready in 30 s:\n${output}`)),
      30_000,
    );
    child.on("message", (message: { type?: string; address?: string }) => {
      if (message.type !== "ready" || !message.address) return;
      clearTimeout(timer);
      resolve({ child, address: message.address, output: () => output });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`chorus ${args[0]} exited ${code}:\n${output}`));
    });
  });
}

async function stopService(service: Started | undefined): Promise<void> {
  const child = service?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** chorus_history_turns_stored_total of the history replica whose /metrics is on `port`. */
async function storedBy(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^chorus_history_turns_stored_total\{[^}]*\} (\d+)$/m.exec(text)?.[1] ?? "0");
}

describe("two history replicas on one PostgreSQL database behind one orchestrator", () => {
  let dir: string;
  let postgres: PostgresServer;
  const services: Started[] = [];
  const historyPorts: number[] = [];
  const metricsPorts: number[] = [];
  let chat: PromiseClient<typeof ChatService>;
  let history: PromiseClient<typeof HistoryService>;
  const deadline = () => ({ deadline: new Date(Date.now() + 30_000) });

  before(async () => {
    assert.ok(existsSync(CLI_BUNDLE), `${CLI_BUNDLE} is missing: run npm run build`);
    dir = mkdtempSync(join(tmpdir(), "chorus-history-replicas-"));
    postgres = await startPostgresServer();
    const env = { CHORUS_HISTORY_DATABASE_URL: await postgres.createDatabase() };
    for (let i = 0; i < 2; i++) {
      historyPorts.push(await freePort());
      metricsPorts.push(await freePort());
    }
    const configPath = join(dir, "chorus.yaml");
    writeFileSync(
      configPath,
      stringify({
        security: { mesh: { mode: "off" } },
        orchestrator: { port: 0, metrics_port: -1 },
        history: { backend: "postgres", addresses: historyPorts.map((port) => `127.0.0.1:${port}`) },
        simulator: { port: 0, ttft_ms: 5, ttft_std_ms: 1, itl_ms: 1, itl_std_ms: 0, tokens: 8 },
        cache: { enabled: false },
        agents: [
          {
            name: "solo",
            model: "sim",
            temperature: 0.5,
            max_tokens: 64,
            system_prompt: "Answer.",
            replicas: 1,
            workers: 8,
          },
        ],
      }),
    );
    const config = ["--config", configPath];
    const simulator = await startService(["llm-sim", ...config], env);
    services.push(simulator);
    for (const [i, port] of historyPorts.entries()) {
      const ports = ["--port", String(port), "--metrics-port", String(metricsPorts[i])];
      services.push(await startService(["history", ...config, ...ports], env));
    }
    const orchestrator = await startService(["orchestrator", ...config], {
      OPENAI_BASE_URL: simulator.address,
    });
    services.push(orchestrator);
    chat = createClient(ChatService, orchestrator.address);
    history = createClient(HistoryService, orchestrator.address);
  });
  after(async () => {
    chat?.close();
    history?.close();
    for (const service of services.reverse()) await stopService(service);
    await postgres?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("spreads the turns of one conversation over both replicas, numbered 1..N without gaps", async () => {
    const first = await chat.chat({ message: "first" }, deadline());
    const conversationId = first.conversationId;
    await Promise.all(
      Array.from({ length: 24 }, (_, i) => chat.chat({ conversationId, message: `turn ${i}` }, deadline())),
    );
    const { turns } = await history.getConversation({ conversationId }, deadline());
    assert.deepEqual(
      turns.map((t) => t.seq),
      Array.from({ length: 25 }, (_, i) => i + 1),
    );
    const stored = await Promise.all(metricsPorts.map(storedBy));
    assert.equal(
      stored.reduce((a, b) => a + b, 0),
      25,
      `stored per replica: ${stored}`,
    );
    assert.ok(
      stored.every((n) => n >= 5),
      `both replicas wrote turns: ${stored}`,
    );
  });

  it("answers every turn while one replica is killed, and the conversation stays gapless", async () => {
    const first = await chat.chat({ message: "before the kill" }, deadline());
    const conversationId = first.conversationId;
    const replica = services[1];
    replica?.child.kill("SIGKILL");
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => chat.chat({ conversationId, message: `after ${i}` }, deadline())),
    );
    assert.ok(answers.every((a) => a.answeredBy.length === 1));
    // Without a retry on the other replica, turns would wait out their deadline for the dead one.
    const ms = performance.now() - started;
    assert.ok(ms < 10_000, `12 turns took ${Math.round(ms)} ms`);
    const { turns } = await history.getConversation({ conversationId }, deadline());
    assert.deepEqual(
      turns.map((t) => t.seq),
      Array.from({ length: 13 }, (_, i) => i + 1),
    );
  });

  it("fails turns with UNAVAILABLE while PostgreSQL is stopped for 10 s, stores none of them, and recovers by itself", async () => {
    const soon = () => ({ deadline: new Date(Date.now() + 3000) });
    await postgres.stop();
    const outage: Array<{ turnId: string; code: number | undefined; message: string }> = [];
    const end = Date.now() + 10_000;
    try {
      for (let i = 0; Date.now() < end && i < 40; i += 1) {
        const turnId = `outage-${i}`;
        const outcome = await chat.chat({ turnId, message: `during the outage ${i}` }, soon()).then(
          () => ({ turnId, code: status.OK as number | undefined, message: "answered" }),
          (err: unknown) => ({
            turnId,
            code: (err as { code?: number }).code,
            message: err instanceof Error ? err.message : String(err),
          }),
        );
        outage.push(outcome);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    } finally {
      await postgres.restart();
    }
    assert.ok(
      outage.length >= 5,
      `only ${outage.length} turns sent during the outage: ${JSON.stringify(outage)}\n${services[2]?.output().slice(-1500)}\n${services[3]?.output().slice(-1500)}`,
    );
    const unexpected = outage.filter((o) => o.code !== status.UNAVAILABLE);
    assert.deepEqual(unexpected, [], "every turn during the outage fails UNAVAILABLE");
    let recovered = false;
    for (let i = 0; i < 60 && !recovered; i += 1) {
      recovered = await chat.chat({ message: `after the outage ${i}` }, soon()).then(
        () => true,
        () => new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 500)),
      );
    }
    assert.ok(recovered, "no turn answered within 30 s of PostgreSQL's return");
    const after = await Promise.all(
      Array.from({ length: 5 }, (_, i) => chat.chat({ message: `recovered ${i}` }, deadline())),
    );
    assert.equal(after.length, 5);
    for (const { turnId } of outage) {
      await assert.rejects(history.getTurn({ turnId }, deadline()), (err: { code: number }) => {
        assert.equal(err.code, status.NOT_FOUND, `${turnId} was stored although its client saw it fail`);
        return true;
      });
    }
  });
});
