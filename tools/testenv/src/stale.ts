import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isAlive, signalGroup } from "./processes.js";

const PREFIX = "chorus-testenv-";
const OWNER_FILE = "owner.json";

/** What a test env records about itself so a later `up` can clean up after a crashed owner. */
export interface OwnerRecord {
  readonly ownerPid: number;
  readonly bridge: string;
  /** Prefix of its pod network namespaces, e.g. `chorus-3-`. */
  readonly netnsPrefix: string;
  readonly pids: readonly number[];
}

/** Writes the owner record into the env's temp dir. */
export function writeOwner(dir: string, record: OwnerRecord): void {
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify(record));
}

function quiet(args: string[]): string {
  try {
    return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return "";
  }
}

/** True if `pid` is alive and its command line mentions `dir` (guards against PID reuse). */
function ours(pid: number, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir);
  } catch {
    return false;
  }
}

/**
 * Removes what earlier test envs left behind when their owning process died without `down`:
 * their processes (recorded PIDs, and whatever still runs in their pod namespaces), namespaces,
 * bridge and temp dir. Envs whose owner is still alive are left alone.
 */
export function reapStale(root = tmpdir()): string[] {
  const reaped: string[] = [];
  for (const name of readdirSync(root)) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = join(root, name);
    let record: OwnerRecord;
    try {
      record = JSON.parse(readFileSync(join(dir, OWNER_FILE), "utf8")) as OwnerRecord;
    } catch {
      continue;
    }
    if (isAlive(record.ownerPid)) continue;
    for (const pid of record.pids) if (ours(pid, dir)) signalGroup(pid, "SIGKILL");
    const namespaces = quiet(["netns", "list"])
      .split("\n")
      .map((line) => line.split(" ")[0] ?? "")
      .filter((ns) => ns.startsWith(record.netnsPrefix));
    for (const ns of namespaces) {
      for (const pid of quiet(["netns", "pids", ns]).split("\n").filter(Boolean))
        signalGroup(Number(pid), "SIGKILL");
      quiet(["netns", "del", ns]);
    }
    for (const ns of existsSync("/etc/netns") ? readdirSync("/etc/netns") : []) {
      if (ns.startsWith(record.netnsPrefix)) rmSync(join("/etc/netns", ns), { recursive: true, force: true });
    }
    quiet(["link", "del", record.bridge]);
    rmSync(dir, { recursive: true, force: true });
    reaped.push(dir);
  }
  return reaped;
}
