import { type ChildProcess, spawn } from "node:child_process";

/** A process the bench started, stopped by its own pid only. */
export interface BenchChild {
  readonly pid: number;
  readonly process: ChildProcess;
  /** The last 64 KiB it printed (stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
}

/** How to start a child and recognise that it is ready. */
export interface SpawnOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** A line of output that means ready; its first capture group is returned. */
  readonly ready: RegExp;
  readonly timeoutMs: number;
}

const KEEP_OUTPUT = 64 * 1024;

/** Starts `command args`, waiting (bounded) until its output matches `ready`. */
export async function spawnReady(
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): Promise<{ child: BenchChild; match: string }> {
  const proc = spawn(command, [...args], {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-KEEP_OUTPUT);
  };
  proc.stdout?.on("data", append);
  proc.stderr?.on("data", append);
  const child: BenchChild = {
    pid: proc.pid ?? -1,
    process: proc,
    output: () => output,
    stop: (graceMs = 15_000) => stopChild(proc, graceMs),
  };
  try {
    const match = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${command} not ready in ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
      const check = () => {
        const found = options.ready.exec(output);
        if (!found) return;
        clearTimeout(timer);
        proc.stdout?.off("data", check);
        proc.stderr?.off("data", check);
        resolve(found[1] ?? found[0]);
      };
      proc.stdout?.on("data", check);
      proc.stderr?.on("data", check);
      proc.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      proc.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${output.slice(-4000)}`));
      });
    });
    proc.removeAllListeners("exit");
    return { child, match };
  } catch (err) {
    await child.stop(2000);
    throw err;
  }
}

function stopChild(proc: ChildProcess, graceMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => proc.kill("SIGKILL"), graceMs);
    proc.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    proc.kill("SIGTERM");
  });
}
