import { execFile } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

async function ip(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run("ip", args, { timeout: 10_000 });
    return stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`testenv: \`ip ${args.join(" ")}\` failed: ${stderr || (err as Error).message}`);
  }
}

/** Why the test env cannot run without root, and what to do; the start of every such error. */
const NEEDS_ROOT =
  "testenv needs root: each pod gets its own network namespace, bridge port and veth pair " +
  "(`ip netns add`, `ip link add`), which only root (CAP_NET_ADMIN) may create. " +
  "Run the tests as root (a root shell or a root CI container)";

/** Throws, saying root is the reason, unless this process runs as root. */
export function requireRoot(): void {
  const uid = process.getuid?.();
  if (uid !== undefined && uid !== 0) throw new Error(`${NEEDS_ROOT}; this process runs as uid ${uid}.`);
}

/** One pod's network namespace: its name, IP and the host end of its veth. */
export interface PodNetwork {
  readonly netns: string;
  readonly ip: string;
  readonly hostVeth: string;
}

/** Where `ip netns exec` finds per-namespace files it bind-mounts over /etc (hosts, resolv.conf). */
const NETNS_ETC = "/etc/netns";

/**
 * A private /24 (10.231.<n>.0/24) behind a host bridge `chorus-br<n>` whose address `.1` is
 * the host's (and the node's) IP on it. Each pod gets a network namespace with a veth into the
 * bridge, an address from .2–.127 and a default route via the bridge IP, so the host reaches pod
 * IPs directly and pods reach each other and the host through the bridge. The upper half
 * (.128/25) is the Service ClusterIP range; the service proxy puts those IPs on the bridge.
 */
export class PodSubnet {
  private readonly free: number[] = [];
  private readonly used = new Map<string, PodNetwork>();

  private constructor(
    readonly index: number,
    readonly bridge: string,
  ) {
    for (let host = 2; host <= 127; host++) this.free.push(host);
  }

  /** The host's address on the bridge. */
  get gateway(): string {
    return `10.231.${this.index}.1`;
  }

  /** The bridge's fixed, locally administered MAC address. */
  get bridgeMac(): string {
    return `02:63:68:6f:${this.index.toString(16).padStart(2, "0")}:01`;
  }

  /** The subnet in CIDR form. */
  get cidr(): string {
    return `10.231.${this.index}.0/24`;
  }

  /** The Service ClusterIP range (the apiserver's --service-cluster-ip-range). */
  get serviceCidr(): string {
    return `10.231.${this.index}.128/25`;
  }

  /** The first ClusterIP, which the apiserver gives the `kubernetes` Service. */
  get apiServiceIp(): string {
    return `10.231.${this.index}.129`;
  }

  /** Puts a /32 (a ClusterIP) on the bridge so the host can listen on it. */
  async addAddress(address: string): Promise<void> {
    await ip("addr", "replace", `${address}/32`, "dev", this.bridge);
  }

  /** Removes a /32 added by `addAddress`. */
  async removeAddress(address: string): Promise<void> {
    await ip("addr", "del", `${address}/32`, "dev", this.bridge).catch(() => undefined);
  }

  /** Writes a pod namespace's /etc/hosts (seen by processes started with `ip netns exec`). */
  writeHosts(netns: string, content: string): void {
    const dir = join(NETNS_ETC, netns);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "hosts"), content);
  }

  /** Creates the bridge on the first free 10.231.<n>.0/24 (n from `first` up). */
  static async create(first = 0): Promise<PodSubnet> {
    const taken = await ip("-o", "-4", "addr", "show");
    for (let n = first; n <= 254; n++) {
      if (taken.includes(` 10.231.${n}.`)) continue;
      const bridge = `chorus-br${n}`;
      try {
        await ip("link", "add", bridge, "type", "bridge");
      } catch (err) {
        // Root without CAP_NET_ADMIN (an unprivileged container) is refused every bridge alike.
        if (/Operation not permitted/.test((err as Error).message)) {
          throw new Error(`${NEEDS_ROOT}; \`ip link add\` was refused: ${(err as Error).message}`);
        }
        continue; // another test env holds this one
      }
      const subnet = new PodSubnet(n, bridge);
      // A bridge without a set address takes its lowest port's MAC, which changes when that pod's
      // veth goes away; pods whose ARP cache holds the old MAC then lose the gateway and every
      // ClusterIP (open connections hang or drop) until neighbour discovery notices.
      await ip("link", "set", "dev", bridge, "address", subnet.bridgeMac);
      await ip("addr", "add", `${subnet.gateway}/24`, "dev", bridge);
      await ip("link", "set", bridge, "up");
      return subnet;
    }
    throw new Error("testenv: no free 10.231.<n>.0/24 for a pod subnet");
  }

  /** Makes a network namespace for one pod and returns its address. */
  async addPod(key: string): Promise<PodNetwork> {
    const existing = this.used.get(key);
    if (existing) return existing;
    const host = this.free.shift();
    if (host === undefined) throw new Error(`testenv: pod subnet ${this.cidr} is full`);
    const net: PodNetwork = {
      netns: `chorus-${this.index}-${host}`,
      ip: `10.231.${this.index}.${host}`,
      hostVeth: `chv${this.index}p${host}`,
    };
    const peer = `chv${this.index}q${host}`;
    this.used.set(key, net);
    // Names under this index belong to us (we hold its bridge): anything left is stale.
    for (const args of [
      ["link", "del", net.hostVeth],
      ["link", "del", peer],
      ["netns", "del", net.netns],
    ]) {
      await ip(...args).catch(() => undefined);
    }
    try {
      // Pods resolve names only from their hosts file; DNS queries stay on the pod's loopback.
      const etc = join(NETNS_ETC, net.netns);
      mkdirSync(etc, { recursive: true });
      writeFileSync(join(etc, "resolv.conf"), "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
      writeFileSync(join(etc, "hosts"), "127.0.0.1 localhost\n");
      await ip("netns", "add", net.netns);
      await ip("link", "add", net.hostVeth, "type", "veth", "peer", "name", peer);
      await ip("link", "set", peer, "netns", net.netns);
      await ip("link", "set", net.hostVeth, "master", this.bridge, "up");
      await ip("-n", net.netns, "link", "set", peer, "name", "eth0");
      await ip("-n", net.netns, "addr", "add", `${net.ip}/24`, "dev", "eth0");
      await ip("-n", net.netns, "link", "set", "eth0", "up");
      await ip("-n", net.netns, "link", "set", "lo", "up");
      await ip("-n", net.netns, "route", "add", "default", "via", this.gateway);
    } catch (err) {
      await this.removePod(key);
      throw err;
    }
    return net;
  }

  /** Deletes a pod's namespace (its veth pair goes with it) and frees its address. */
  async removePod(key: string): Promise<void> {
    const net = this.used.get(key);
    if (!net) return;
    this.used.delete(key);
    await ip("netns", "del", net.netns).catch(() => undefined);
    await ip("link", "del", net.hostVeth).catch(() => undefined);
    rmSync(join(NETNS_ETC, net.netns), { recursive: true, force: true });
    this.free.push(Number(net.ip.split(".")[3]));
  }

  /** Namespaces currently held. */
  pods(): PodNetwork[] {
    return [...this.used.values()];
  }

  /** Removes every pod namespace, then the bridge. */
  async destroy(): Promise<void> {
    for (const key of [...this.used.keys()]) await this.removePod(key);
    await ip("link", "del", this.bridge).catch(() => undefined);
  }
}

/** Names of all network namespaces on the machine (for leak checks). */
export async function listNetns(): Promise<string[]> {
  const out = await ip("netns", "list");
  return out
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name !== "");
}

/** True if a network interface with this name exists. */
export async function linkExists(name: string): Promise<boolean> {
  try {
    await ip("link", "show", name);
    return true;
  } catch {
    return false;
  }
}
