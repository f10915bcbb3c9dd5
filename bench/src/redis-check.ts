import { execFileSync } from "node:child_process";

/** The redis-server binary the cache section starts: REDIS_SERVER, as `startRedisServer` reads it, or PATH's. */
export function redisServerBinary(): string {
  return process.env.REDIS_SERVER ?? "redis-server";
}

/** Returns `bin --version`; throws a message naming redis-server and how to install it if that fails. */
export function requireRedisServer(bin = redisServerBinary()): string {
  try {
    return execFileSync(bin, ["--version"], { encoding: "utf8", timeout: 10_000, stdio: "pipe" }).trim();
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message.split("\n")[0];
    throw new Error(
      `the cache section needs redis-server, and "${bin} --version" failed (${reason}). ` +
        "Install it: apt-get install redis-server (Debian/Ubuntu), or set REDIS_SERVER to its path. " +
        "To run without it, leave cache out of --sections.",
    );
  }
}
