// What provisioning can see of a machine: commands on PATH, Debian's python, system files, Go, the cache.
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, join } from "node:path";

/** The versioned cache's default home, shared by every checkout on the machine. */
export const DEFAULT_CACHE = "/var/cache/chorus/v1";

/** True if `path` is an executable file. */
export function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** True if `path` is writable, or could be made (its nearest existing ancestor is writable). */
function canCreate(path) {
  let dir = path;
  while (!existsSync(dir)) {
    const parent = dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The cache dir: $CHORUS_CACHE if set, else /var/cache/chorus/v1 when this user may write there,
 * else a versioned dir under the user's cache ($XDG_CACHE_HOME or ~/.cache)/chorus/v1.
 */
export function chooseCache(env, root = "/", writable = canCreate) {
  if (env.CHORUS_CACHE) return env.CHORUS_CACHE;
  const system = join(root, DEFAULT_CACHE);
  if (writable(system)) return system;
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache"), "chorus", "v1");
}

/** A machine as provisioning sees it; the real one by default, a temp dir in tests. */
export class Machine {
  /**
   * @param {{ env?: Record<string, string | undefined>, isRoot?: boolean, root?: string }} [options]
   *   env supplies PATH, HOME and CHORUS_CACHE; isRoot says whether apt-get may run; system paths
   *   such as /usr/bin/python3 are looked up under root.
   */
  constructor({ env = process.env, isRoot = process.getuid?.() === 0, root = "/" } = {}) {
    this.env = env;
    this.isRoot = isRoot;
    this.root = root;
    this.cache = chooseCache(env, root);
  }

  /** A system path (like /usr/bin/python3) on this machine. */
  system(path) {
    return join(this.root, path);
  }

  /** The first executable `name` on PATH, or undefined. */
  which(name) {
    const dirs = (this.env.PATH ?? "").split(delimiter).filter(Boolean);
    return dirs.map((dir) => join(dir, name)).find(executable);
  }

  /** True if the command is on PATH. */
  onPath(name) {
    return this.which(name) !== undefined;
  }

  /** True if the absolute path exists. */
  exists(path) {
    return existsSync(path);
  }

  /** True if the absolute path is an executable file. */
  executable(path) {
    return executable(path);
  }

  /** True if Debian's /usr/bin/python3 can import the module (the tests use that interpreter). */
  pythonImports(module) {
    const python = this.system("/usr/bin/python3");
    if (!executable(python)) return false;
    const result = spawnSync(python, ["-c", `import ${module}`], { stdio: "ignore", timeout: 30_000 });
    return result.status === 0;
  }

  /** True if `go` on PATH is at least [major, minor]. */
  goAtLeast([major, minor]) {
    const go = this.which("go");
    if (!go) return false;
    const result = spawnSync(go, ["env", "GOVERSION"], { encoding: "utf8", env: this.env, timeout: 30_000 });
    const match = /^go(\d+)\.(\d+)/.exec(result.stdout ?? "");
    if (!match) return false;
    const [have, haveMinor] = [Number(match[1]), Number(match[2])];
    return have > major || (have === major && haveMinor >= minor);
  }

  /** The newest /usr/lib/postgresql/<version>/bin holding initdb and postgres, or undefined. */
  postgresBin() {
    const base = this.system("/usr/lib/postgresql");
    let versions = [];
    try {
      versions = readdirSync(base).filter((name) => /^\d+$/.test(name));
    } catch {
      return undefined;
    }
    return versions
      .sort((a, b) => Number(b) - Number(a))
      .map((version) => join(base, version, "bin"))
      .find((bin) => executable(join(bin, "initdb")) && executable(join(bin, "postgres")));
  }
}
