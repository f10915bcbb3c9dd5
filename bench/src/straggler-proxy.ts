import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";

/** A TCP proxy in front of two simulators that sends one process's connections to the slow one. */
export interface StragglerProxy {
  /** The base URL (…/v1) every agent of the mesh is given. */
  readonly url: string;
  /** Connections opened so far, and how many of them went to the slow simulator. */
  readonly counts: { connections: number; slow: number };
  /**
   * From now on, connections from `pid` (undefined: none) go to the slow simulator. Closes every
   * open connection so keep-alive sockets follow the new routing; call it while no request runs.
   */
  route(pid: number | undefined): void;
  close(): Promise<void>;
}

function hostPort(url: string): { host: string; port: number; path: string } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port), path: parsed.pathname };
}

/** The inode of the IPv4 TCP socket whose local end is 127.0.0.1:`port` (/proc/net/tcp, hex fields). */
function socketInode(port: number): string | undefined {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local) return fields[9];
  }
  return undefined;
}

/** Whether process `pid` holds the socket with `inode` among its file descriptors. */
function holds(pid: number, inode: string): boolean {
  const target = `socket:[${inode}]`;
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === target;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/**
 * Listens on loopback and pipes each connection to `fastUrl`'s simulator, or to `slowUrl`'s when
 * the connecting socket belongs to the routed process (found through /proc, Linux only): one agent
 * replica of a pool then talks to a slower model while every other replica keeps the normal one,
 * without anything in the mesh knowing. Both URLs must share a path (…/v1).
 */
export async function startStragglerProxy(fastUrl: string, slowUrl: string): Promise<StragglerProxy> {
  const fast = hostPort(fastUrl);
  const slow = hostPort(slowUrl);
  const sockets = new Set<Socket>();
  const counts = { connections: 0, slow: 0 };
  let slowPid: number | undefined;
  const server: Server = createServer((client) => {
    counts.connections += 1;
    const inode = slowPid === undefined ? undefined : socketInode(client.remotePort ?? 0);
    const toSlow = slowPid !== undefined && inode !== undefined && holds(slowPid, inode);
    if (toSlow) counts.slow += 1;
    const upstream = createConnection(toSlow ? slow.port : fast.port, toSlow ? slow.host : fast.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on("close", () => sockets.delete(socket));
    }
    // A side that ends or fails ends the other: an agent aborting a request reaches the simulator.
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}${fast.path}`,
    counts,
    route(pid) {
      slowPid = pid;
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
