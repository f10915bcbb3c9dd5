import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import { type ChorusUp, CLI_BUNDLE, startChorusUp, testConfig } from "@chorus/cli/testing";
import { stringify } from "yaml";
import { noTerminal, Terminal } from "./testing/terminal.js";

const BATCH = 6;
const BAR =
  /^\[([#.]{30})\] (\d+)\/6 {2}ok (\d+) {2}failed (\d+) {2}blocks: creative \d+, analytical \d+, balanced \d+$/;

/** Every process under `pid`, children first. */
function descendants(pid: number): number[] {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean).map(Number),
  );
  return children.flatMap((child) => [child, ...descendants(child)]);
}

/** Whether `pid` still runs (a zombie has finished). */
function running(pid: number): boolean {
  if (!existsSync(`/proc/${pid}/stat`)) return false;
  return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
}

/** Types `line` at the prompt and waits for the next prompt; returns the screen lines in between. */
async function enter(term: Terminal, line: string, timeoutMs = 20_000): Promise<string[]> {
  const from = term.screen().length;
  term.type(line);
  await term.waitFor(/^you>$/, timeoutMs, from);
  const screen = term.screen();
  return screen.slice(from - 1, screen.length - 1);
}

describe("chorus chat on a terminal, joined to a running mesh", { timeout: 60_000 }, () => {
  let mesh: ChorusUp;
  let term: Terminal;
  before(async () => {
    assert.equal(noTerminal, undefined, `the CLI tests need a terminal: ${noTerminal}`);
    mesh = await startChorusUp();
    term = new Terminal(["chat", "--address", mesh.address]);
    await term.waitFor(/^you>$/);
  });
  after(async () => {
    await term.kill();
    await mesh.stop();
  });

  it("greets with the address and answers a typed message on a line that names the agent", async () => {
    assert.equal(
      term.screen()[0],
      `Chorus at ${mesh.address}. Type a message to ask every agent; /help lists commands.`,
    );
    const lines = await enter(term, "What is parallel processing?");
    assert.equal(lines[0], "you> What is parallel processing?");
    assert.match(lines[1] ?? "", /^creative> \[simulated\] As a creative assistant, .*parallel/);
    for (const agent of ["creative", "analytical", "balanced"]) {
      assert.ok(
        lines.some((l) => new RegExp(`^ {2}· ${agent} answered in \\d+ ms$`).test(l)),
        `${agent}'s notice in:\n${lines.join("\n")}`,
      );
    }
    assert.equal(lines.at(-1), "  (answer from creative)");
  });

  it("keeps the conversation: /history lists both turns in order", async () => {
    await enter(term, "And what about distributed systems?");
    const lines = await enter(term, "/history");
    assert.equal(lines[1], "#1 you: What is parallel processing?");
    assert.match(lines[2] ?? "", /^ {3}chorus: \[simulated\] As a creative assistant/);
    assert.equal(lines[3], "#2 you: And what about distributed systems?");
  });

  it(`/batch ${BATCH} redraws one progress bar in place up to ${BATCH}/${BATCH} with ok ${BATCH}, then a summary`, async () => {
    const rawFrom = term.output().length;
    const lines = await enter(term, `/batch ${BATCH}`);
    const bars = lines.filter((l) => l.includes(`/${BATCH}  ok`));
    assert.equal(bars.length, 1, `the bar is redrawn in place, not printed per item:\n${lines.join("\n")}`);
    const last = BAR.exec(bars[0] ?? "");
    assert.ok(last, `final bar: ${bars[0]}`);
    assert.deepEqual(last.slice(1), ["#".repeat(30), "6", "6", "0"]);
    assert.match(lines.at(-1) ?? "", /^batch: 6\/6 ok, 0 failed, \d+\.\d\d s, \d+\.\d\d messages\/s$/);
    const drawn = [
      ...term
        .output()
        .slice(rawFrom)
        .matchAll(/\] (\d+)\/6 {2}ok/g),
    ].map((m) => Number(m[1]));
    // 0/6 shows only if the first block count arrives before the first item; every item moves the bar on.
    assert.deepEqual(
      [...new Set(drawn)].filter((done) => done > 0),
      [1, 2, 3, 4, 5, 6],
      `drawn: ${drawn.join(" ")}`,
    );
  });

  it("/stats shows counts matching what was sent: 2 typed turns and 6 batch items", async () => {
    const lines = await enter(term, "/stats");
    assert.equal(lines[1], "requests: 8 total, 8 ok, 0 failed");
    // The seed's personas sample (temperature > 0), so under cache_policy auto none looks in the cache.
    assert.equal(
      lines.find((l) => l.startsWith("cache:")),
      "cache: 0 hits, 0 misses",
    );
    for (const agent of ["creative", "analytical", "balanced"]) {
      const row = lines.find((l) => l.trimStart().startsWith(`${agent} `));
      assert.match(row ?? "", /^ {2}\S+ +4 req +0 err 100\.0% ok/, `${agent}: ${row}`);
    }
  });

  it("answers every line of piped input in order, then exits 0 at its end", async () => {
    const questions = ["Kangaroos?", "Volcanoes?", "Glaciers?"];
    const run = promisify(execFile)(process.execPath, [CLI_BUNDLE, "chat", "--address", mesh.address], {
      timeout: 60_000,
    });
    run.child.stdin?.end(`${questions.join("\n")}\n`);
    const { stdout } = await run;
    const answered = stdout.split("\n").filter((l) => /creative> \[simulated\]/.test(l));
    assert.equal(answered.length, questions.length, stdout);
    for (const [i, q] of questions.entries()) {
      assert.match(answered[i] ?? "", new RegExp(q.slice(0, -1).toLowerCase()), stdout);
    }
  });

  it("/quit leaves the chat with exit code 0 and leaves the mesh running", async () => {
    term.type("/quit");
    assert.equal(await term.exit(), 0);
    const again = new Terminal(["stats", "--address", mesh.address]);
    assert.equal(await again.exit(), 0);
    assert.ok(again.screen().includes("requests: 11 total, 11 ok, 0 failed"), again.screen().join("\n"));
  });
});

describe("chorus chat on a terminal, starting its own mesh", { timeout: 60_000 }, () => {
  let dir: string;
  let term: Terminal;
  before(() => {
    assert.equal(noTerminal, undefined, `the CLI tests need a terminal: ${noTerminal}`);
    dir = mkdtempSync(join(tmpdir(), "chorus-chat-"));
    writeFileSync(join(dir, "chorus.yaml"), stringify(testConfig(dir)));
    term = new Terminal(["chat", "--config", join(dir, "chorus.yaml")], { shellStays: true });
  });
  after(async () => {
    await term.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts every service, answers, and /quit stops every process it started", async () => {
    await term.waitFor(/^you>$/, 45_000);
    assert.match(
      term.screen().join("\n"),
      /^Model: simulated \(chorus llm-sim at http:\/\/127\.0\.0\.1:\d+\/v1\)\. Service logs: /m,
    );
    const chorus = term.chorusPid() ?? assert.fail("no chorus process");
    const started = descendants(chorus);
    assert.equal(started.length, 6, "history, llm-sim, orchestrator and one agent per pool");
    const lines = await enter(term, "Hello from a terminal");
    assert.match(lines[1] ?? "", /^creative> \[simulated\]/);
    term.type("/quit");
    // The shell still holds the terminal, so nothing here is ended by a hang-up: only by chorus.
    assert.equal(await term.waitFor(/^\[exited \d+\]$/, 20_000), "[exited 0]");
    for (let i = 0; i < 50 && started.some(running); i++) await delay(100);
    assert.deepEqual(started.filter(running), [], "processes left running after /quit");
    term.type("");
    assert.equal(await term.exit(), 0);
  });
});
