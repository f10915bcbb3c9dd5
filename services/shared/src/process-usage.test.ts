import assert from "node:assert/strict";
import { openSync, readFileSync, readSync } from "node:fs";
import { describe, it } from "node:test";
import { processUsage } from "./process-usage.js";

/** This process's CPU seconds and resident bytes as Linux reports them in /proc (the kernel's view). */
function procSelf(): { cpuSeconds: number; rssBytes: number } {
  // Fields after the command name; utime and stime are the 12th and 13th of them, in clock ticks.
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssKb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1]);
  return { cpuSeconds: ticks / 100, rssBytes: rssKb * 1024 };
}

/** Spends at least `seconds` of system CPU time (reading /dev/zero), giving up after five seconds. */
function burnSystem(seconds: number): void {
  const fd = openSync("/dev/zero", "r");
  const buffer = Buffer.alloc(1 << 20);
  const start = process.cpuUsage();
  const end = performance.now() + 5_000;
  while (process.cpuUsage(start).system < seconds * 1e6 && performance.now() < end) readSync(fd, buffer);
}

function burn(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) Math.sqrt(Math.random());
}

describe("processUsage", () => {
  it("reports this process's CPU time (user and system) and resident memory as the kernel counts them", {
    skip: process.platform !== "linux" && "reads /proc, which only Linux has",
  }, () => {
    burn(100);
    burnSystem(0.2);
    const usage = processUsage();
    const kernel = procSelf();
    assert.equal(usage.pid, process.pid);
    assert.ok(
      Math.abs((usage.cpuSeconds ?? 0) - kernel.cpuSeconds) < 0.1,
      `${usage.cpuSeconds} vs ${kernel.cpuSeconds}`,
    );
    const rss = Number(usage.rssBytes ?? 0n);
    assert.ok(Math.abs(rss - kernel.rssBytes) < 8 * 2 ** 20, `${rss} vs ${kernel.rssBytes}`);
    assert.ok(Math.abs((usage.uptimeSeconds ?? 0) - process.uptime()) < 1);
  });

  it("counts the CPU time of work done since the last look", () => {
    const before = processUsage().cpuSeconds ?? 0;
    burn(200);
    const spent = (processUsage().cpuSeconds ?? 0) - before;
    assert.ok(spent >= 0.05 && spent < 1, `spent ${spent} s of CPU in 200 ms of busy loop`);
  });
});
