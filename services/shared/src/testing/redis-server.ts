import { type ChildProcess, spawn } from "node:child_process";
import { createConnection } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { freePort } from "./free-port.js";

/** A real redis-server child process on a loopback port, for tests. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port }, () => {
      socket.end();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function launch(port: number): ChildProcess {
  const bin = process.env.REDIS_SERVER ?? "redis-server";
  return spawn(bin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
}

async function waitUntilUp(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    if (child.exitCode !== null)
      throw new Error(`redis-server exited with ${child.exitCode}; is it installed?`);
    if (await canConnect(port)) return;
    await delay(50);
  }
  throw new Error("redis-server did not start within 5 s");
}

/** Starts redis-server on a free loopback port (REDIS_SERVER overrides the binary). */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  let child = launch(port);
  child.on("error", () => {});
  await waitUntilUp(port, child);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    async restart() {
      await stop();
      child = launch(port);
      await waitUntilUp(port, child);
    },
  };
}
