import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { freePort } from "@chorus/shared/testing";
import pg from "pg";

/** A real PostgreSQL server (initdb into a temp dir) on a loopback port, for tests. */
export interface PostgresServer {
  readonly port: number;
  /** The postmaster's pid. */
  readonly pid: number | undefined;
  /** URL of `database` as the superuser (trust authentication, loopback only). */
  url(database?: string): string;
  /** Creates a new empty database and resolves to its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server (fast shutdown), keeping its data directory. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  restart(): Promise<void>;
  /** Stops it and removes its data directory. */
  close(): Promise<void>;
}

const USER = "chorus";

/** Where the server also listens, and who may connect there (loopback alone, trusted, by default). */
export interface PostgresServerOptions {
  /** Addresses to listen on besides 127.0.0.1, e.g. the host's address on a test pod network. */
  readonly listen?: readonly string[];
  /**
   * pg_hba.conf lines added after initdb's (which trust loopback only), e.g.
   * `host chorus app 10.0.0.0/24 scram-sha-256` to admit a role with its password from there.
   */
  readonly hba?: readonly string[];
}

/** The directory holding initdb and postgres: $POSTGRES_BIN, PATH, or Debian's newest /usr/lib/postgresql/<v>/bin. */
function postgresBin(): string {
  const candidates = [
    process.env.POSTGRES_BIN,
    ...(process.env.PATH ?? "").split(delimiter),
    ...(() => {
      try {
        return readdirSync("/usr/lib/postgresql")
          .filter((v) => /^\d+$/.test(v))
          .sort((a, b) => Number(b) - Number(a))
          .map((v) => `/usr/lib/postgresql/${v}/bin`);
      } catch {
        return [];
      }
    })(),
  ];
  const bin = candidates.find(
    (dir) => dir && existsSync(join(dir, "initdb")) && existsSync(join(dir, "postgres")),
  );
  if (!bin) throw new Error("initdb and postgres not found: install Debian's postgresql (npm test does)");
  return bin;
}

/**
 * How to run a PostgreSQL binary: postgres refuses to run as root, so as root the Debian
 * `postgres` user runs it, through setpriv (which execs, so the pid is the server's own).
 */
function runAs(): { prefix: string[]; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { prefix: [] };
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((entry) => entry.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (uid === undefined || gid === undefined)
    throw new Error("running as root, and there is no postgres user to run PostgreSQL as");
  return {
    prefix: ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--"],
    uid: Number(uid),
    gid: Number(gid),
  };
}

function command(prefix: string[], bin: string, name: string, args: string[]): [string, string[]] {
  const [first, ...rest] = [...prefix, join(bin, name), ...args];
  return [first ?? name, rest];
}

async function waitUntilUp(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => {});
      await delay(50);
    }
  }
  throw new Error("postgres did not start within 10 s:\n");
}

/**
 * Makes a cluster with initdb in a new temp dir (owned by the user that runs it) and starts
 * postgres on a free loopback port (and `options.listen`), its socket in that dir. Stop it with
 * close(), by its pid.
 */
export async function startPostgresServer(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const bin = postgresBin();
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), "chorus-postgres-"));
  const data = join(dir, "data");
  const socketDir = join(dir, "socket");
  mkdirSync(socketDir);
  if (user.uid !== undefined && user.gid !== undefined) {
    chownSync(dir, user.uid, user.gid);
    chownSync(socketDir, user.uid, user.gid);
  }
  // ICU's en-US as the default collation, so what depends on collation is tested off "C".
  const [initdb, initArgs] = command(user.prefix, bin, "initdb", [
    ...["-D", data, "-U", USER, "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"],
    ...["--locale-provider=icu", "--icu-locale=en-US", "--no-sync"],
  ]);
  const init = spawnSync(initdb, initArgs, { encoding: "utf8", cwd: dir });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.error?.message}`);
  }
  if (options.hba?.length) appendFileSync(join(data, "pg_hba.conf"), `${options.hba.join("\n")}\n`);
  const listen = ["127.0.0.1", ...(options.listen ?? [])].join(",");
  const port = await freePort();
  const url = (database = "postgres") => `postgres://${USER}@127.0.0.1:${port}/${database}`;
  let child: ChildProcess;
  const launch = async () => {
    const [postgres, args] = command(user.prefix, bin, "postgres", [
      ...["-D", data, "-p", String(port), "-k", socketDir, "-c", `listen_addresses=${listen}`],
      ...["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
    ]);
    child = spawn(postgres, args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    child.on("error", () => {});
    const chunks: Buffer[] = [];
    child.stderr?.on("data", (chunk: Buffer) => chunks.push(chunk));
    try {
      await waitUntilUp(url(), child);
    } catch (err) {
      throw new Error(`${(err as Error).message}${Buffer.concat(chunks).toString().slice(-2000)}`);
    }
    // Once up, its log is noise; keep the pipe drained.
    child.stderr?.removeAllListeners("data");
    child.stderr?.resume();
  };
  const stop = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGINT"); // fast shutdown: ends sessions, then exits
    const timer = setTimeout(() => child.kill("SIGQUIT"), 5000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await launch();
  } catch (err) {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let databases = 0;
  return {
    port,
    get pid() {
      return child.pid;
    },
    url,
    async createDatabase() {
      const name = `chorus_test_${++databases}`;
      const admin = new pg.Client({ connectionString: url() });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return url(name);
    },
    stop,
    async restart() {
      await stop();
      await launch();
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
