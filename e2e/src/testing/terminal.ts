import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { CLI_BUNDLE } from "@chorus/cli/testing";
import { renderScreen } from "./terminal-screen.js";

/** Why terminal tests cannot run here (they then fail saying so), or undefined when util-linux script(1) is available. */
export const noTerminal: string | undefined =
  spawnSync("script", ["--version"], { stdio: "ignore" }).status === 0
    ? undefined
    : "script(1) from util-linux (Debian: bsdutils) is not installed; it gives the CLI a pseudo-terminal";

const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;

/**
 * `chorus ARGS` on a pseudo-terminal of 120×40 made by util-linux script(1), typed into and read
 * the way a person at a terminal would.
 */
export class Terminal {
  private raw = "";
  private readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  /**
   * With `shellStays`, a shell stays on the terminal after chorus exits, prints `[exited N]` and
   * waits for Enter, as a person's shell would: the terminal does not hang up on what chorus left
   * behind. Otherwise chorus is the terminal's only process and the session ends with it.
   */
  constructor(args: readonly string[], options: { shellStays?: boolean } = {}) {
    const command = [process.execPath, CLI_BUNDLE, ...args].map(quote).join(" ");
    const run = options.shellStays ? `${command}; echo "[exited $?]"; read _` : `exec ${command}`;
    this.child = spawn("script", ["-qfec", `stty cols 120 rows 40; ${run}`, "/dev/null"], {
      env: { ...process.env, SHELL: "/bin/sh", TERM: "xterm", LOG_LEVEL: "warn" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const collect = (chunk: Buffer) => {
      this.raw += chunk.toString("utf8");
    };
    this.child.stdout?.on("data", collect);
    this.child.stderr?.on("data", collect);
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
  }

  /** Everything the program wrote, escape sequences and all. */
  output(): string {
    return this.raw;
  }

  /** The lines a person would see on the screen now. */
  screen(): string[] {
    return renderScreen(this.raw);
  }

  /** Waits (at most `timeoutMs`) until the screen from line `from` on has a line matching `pattern`. */
  async waitFor(pattern: RegExp, timeoutMs = 20_000, from = 0): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = this.screen()
        .slice(from)
        .find((line) => pattern.test(line));
      if (found !== undefined) return found;
      if (Date.now() > until || this.child.exitCode !== null) {
        throw new Error(
          `no line matching ${pattern} in ${timeoutMs} ms; screen:\n${this.screen().join("\n")}`,
        );
      }
      await delay(25);
    }
  }

  /** Types `text` and presses Enter. */
  type(text: string): void {
    this.child.stdin?.write(`${text}\r`);
  }

  /** Presses Ctrl-C. */
  interrupt(): void {
    this.child.stdin?.write("\x03");
  }

  /** The PID of the chorus process: script's child, or the shell's with `shellStays`. */
  chorusPid(): number | undefined {
    const childOf = (pid: number) => {
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ");
      return children[0] ? Number(children[0]) : undefined;
    };
    let pid = this.child.pid;
    while (pid !== undefined && readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[1] !== CLI_BUNDLE) {
      pid = childOf(pid);
    }
    return pid;
  }

  /** Waits (bounded) for the program to exit and returns its exit code; kills it by PID if it will not. */
  async exit(timeoutMs = 15_000): Promise<number | null> {
    const timer = setTimeout(() => this.kill(), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** Ends the session by PID: SIGTERM to script (its pty's hang-up ends chorus), then SIGKILL. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const chorus = this.chorusPid();
    this.child.kill("SIGTERM");
    const force = setTimeout(() => {
      this.child.kill("SIGKILL");
      try {
        if (chorus) process.kill(chorus, "SIGKILL");
      } catch {
        // Already gone with its terminal.
      }
    }, 10_000);
    await this.exited;
    clearTimeout(force);
  }
}

/** Runs `chorus ARGS` on a terminal to its end (bounded) and returns its exit code and screen. */
export async function runInTerminal(
  args: readonly string[],
  timeoutMs = 20_000,
): Promise<{ code: number | null; screen: string[] }> {
  const terminal = new Terminal(args);
  const code = await terminal.exit(timeoutMs);
  return { code, screen: terminal.screen() };
}
