import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { createServer } from "node:net";

/** A child process started by the test env, with its log file. */
export interface Started {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly log: string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
}

/** Starts `command` in its own process group, stdout and stderr appended to `log`. */
export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  log: string,
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Started {
  const fd = openSync(log, "a");
  const child = spawn(command, args, {
    stdio: ["ignore", fd, fd],
    detached: true,
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`testenv: could not start ${name} (${command})`);
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
    child.once("error", () => resolve("spawn-error"));
  });
  return { name, pid: child.pid, child, log, exited };
}

/** True while a process with this PID exists (a zombie counts as gone to its parent's wait). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Signals the process group led by `pid` (falls back to the PID alone). */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
export async function stopProcess(started: Started, graceMs = 5000): Promise<void> {
  if (started.child.exitCode !== null || started.child.signalCode !== null) return;
  signalGroup(started.pid, "SIGTERM");
  const timer = setTimeout(() => signalGroup(started.pid, "SIGKILL"), graceMs);
  await started.exited;
  clearTimeout(timer);
  // Anything the process left in its group goes too.
  signalGroup(started.pid, "SIGKILL");
}

/** A free TCP port on `host` (bound and released; a small race is accepted). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` every `intervalMs` until it returns a value, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let attempt = 0; Date.now() < deadline && attempt < 100_000; attempt++) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const detail = lastError instanceof Error ? `: ${lastError.message}` : "";
  throw new Error(`testenv: timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
}

/** Runs `command` inside `netns`; resolves with the exit code (or 1 on timeout). */
export function execInNetns(
  netns: string,
  command: string[],
  env: Record<string, string>,
  cwd: string,
  timeoutMs: number,
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn("ip", ["netns", "exec", netns, ...command], {
      env,
      cwd,
      stdio: "ignore",
      timeout: timeoutMs,
    });
    child.once("error", () => resolve(1));
    child.once("exit", (code) => resolve(code ?? 1));
  });
}
