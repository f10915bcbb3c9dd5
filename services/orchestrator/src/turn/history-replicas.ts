import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { ChorusConfig } from "@chorus/config";
import { HistoryService } from "@chorus/proto";
import {
  type ClientTransport,
  codeOf,
  createClient,
  detailsOf,
  HISTORY_DATABASE_UNAVAILABLE,
  type Logger,
  type PromiseClient,
  type RpcOptions,
} from "@chorus/shared";
import { type ClientOptions, status } from "@grpc/grpc-js";
import { AppendStream } from "./append-stream.js";
import type { HistoryConnection, TurnHistory } from "./turn-history.js";

type HistoryClient = PromiseClient<typeof HistoryService>;

/** How the replicas are found and dialled. */
export interface HistoryReplicaOptions {
  readonly channelOptions?: ClientOptions;
  readonly transport?: ClientTransport | undefined;
  /** Every address a host name resolves to (default: the system resolver, all A/AAAA records). */
  readonly lookup?: (host: string) => Promise<string[]>;
  /** How often names are resolved again, so replicas that come and go are followed (0: never). */
  readonly refreshMs?: number;
  /** How long a replica that failed is tried only after the others. */
  readonly downMs?: number;
  /** Most appends in flight on one replica's AppendTurns stream (history.stream_max_in_flight). */
  readonly streamMaxInFlight?: number;
  readonly log?: Logger | undefined;
}

/** History's HistoryService client over several replicas, and the turn's view of it. */
export type HistoryReplicas = HistoryClient & {
  /** The turn's history calls over these replicas; reconnect() dials every replica anew. */
  turnHistory(): TurnHistory;
  /** The replica addresses calls currently go to, resolved. */
  replicas(): Promise<string[]>;
};

/**
 * Where the orchestrator reaches history: the --history-address flag, else history.addresses,
 * else history.address, else history.host:port.
 */
export function historyTargets(
  flag: string | undefined,
  history: ChorusConfig["history"],
): [string, ...string[]] {
  if (flag) return [flag];
  const [first, ...rest] = history.addresses;
  if (first) return [first, ...rest];
  return [history.address ?? `${history.host}:${history.port}`];
}

const systemLookup = async (host: string) => (await dnsLookup(host, { all: true })).map((a) => a.address);

function split(target: string): { host: string; port: string } {
  const at = target.lastIndexOf(":");
  return { host: target.slice(0, at).replace(/^\[|\]$/g, ""), port: target.slice(at + 1) };
}

const joined = (host: string, port: string) => (isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`);

interface Replica {
  readonly address: string;
  readonly client: HistoryClient;
  /** The turn writes to this replica, over one long-lived stream. */
  readonly appends: AppendStream;
  downUntil: number;
  /** When its failure was last logged: once per WARN_EVERY_MS, not on every call. */
  warnedAt: number;
}

const WARN_EVERY_MS = 30_000;

/**
 * A HistoryService client that spreads calls round-robin across every history replica (each
 * target, and every address its name resolves to) and, when one cannot be reached (UNAVAILABLE),
 * tries the next at once, trying recently failed replicas last. Every attempt but the last fails
 * fast instead of waiting for a connection, so a dead replica costs a call no time. Every history
 * call is safe to repeat: reads, AppendTurn by turn_id, ClaimTurn by claim_id (a repeat renews
 * the same claim), ReleaseTurn, and a delete (whose repeat may answer NOT_FOUND if the first
 * attempt deleted it but its answer was lost).
 */
export function historyReplicas(
  targets: readonly string[],
  options: HistoryReplicaOptions = {},
): HistoryReplicas {
  const lookup = options.lookup ?? systemLookup;
  const downMs = options.downMs ?? 1000;
  let replicas = new Map<string, Replica>();
  let next = 0;
  let closed = false;

  const resolve = async (): Promise<string[]> => {
    const lists = await Promise.all(
      targets.map(async (target) => {
        const { host, port } = split(target);
        if (isIP(host)) return [target];
        try {
          const found = await lookup(host);
          return found.length > 0 ? found.map((address) => joined(address, port)) : [target];
        } catch {
          // Unresolvable now: let grpc-js keep trying the name itself.
          return [target];
        }
      }),
    );
    return [...new Set(lists.flat())];
  };
  const refresh = async () => {
    const addresses = await resolve();
    if (closed) return;
    const kept = new Map<string, Replica>();
    for (const address of addresses) {
      const known = replicas.get(address);
      if (known) {
        kept.set(address, known);
        continue;
      }
      const client = createClient(HistoryService, address, options.channelOptions ?? {}, options.transport);
      const appends = new AppendStream(client, options.streamMaxInFlight ?? 512, options.log);
      kept.set(address, { address, client, appends, downUntil: 0, warnedAt: 0 });
    }
    // Calls still running on a replica that went away finish: a closed channel only refuses new ones.
    for (const [address, replica] of replicas)
      if (!kept.has(address)) {
        replica.appends.close();
        replica.client.close();
      }
    replicas = kept;
    options.log?.debug({ replicas: [...kept.keys()] }, "history replicas");
  };
  let ready = refresh();
  const timer =
    (options.refreshMs ?? 10_000) > 0
      ? setInterval(() => {
          ready = refresh().catch(() => {});
        }, options.refreshMs ?? 10_000)
      : undefined;
  timer?.unref();

  /** The replicas in the order one call tries them: round-robin, the recently failed last. */
  const order = async (): Promise<Replica[]> => {
    await ready;
    const all = [...replicas.values()];
    const start = next++ % Math.max(all.length, 1);
    const rotated = [...all.slice(start), ...all.slice(0, start)];
    const now = Date.now();
    return [...rotated.filter((r) => r.downUntil <= now), ...rotated.filter((r) => r.downUntil > now)];
  };
  const failed = (replica: Replica, err: unknown) => {
    const now = Date.now();
    replica.downUntil = now + downMs;
    if (now - replica.warnedAt < WARN_EVERY_MS) return;
    replica.warnedAt = now;
    options.log?.warn(
      { replica: replica.address, err: (err as Error).message },
      "history replica unreachable; trying another",
    );
  };
  const attemptOptions = (rpc: RpcOptions | undefined, last: boolean): RpcOptions | undefined =>
    last ? rpc : { ...rpc, waitForReady: false };

  /**
   * Tries `call` on each replica in order until one is reached. A replica that answers that its
   * database is unreachable was reached: the others are tried without waiting for a connection,
   * and that answer is the call's if none does better.
   */
  const spread =
    (call: (replica: Replica, request: never, rpc: RpcOptions | undefined) => Promise<unknown>) =>
    async (request: never, rpc?: RpcOptions) => {
      const candidates = await order();
      let lastError: unknown = new Error("no history replica");
      let databaseDown: unknown;
      for (const [index, replica] of candidates.entries()) {
        const last = index === candidates.length - 1 && databaseDown === undefined;
        try {
          return await call(replica, request, attemptOptions(rpc, last));
        } catch (err) {
          if (codeOf(err) !== status.UNAVAILABLE || rpc?.signal?.aborted) throw err;
          if (detailsOf(err) === HISTORY_DATABASE_UNAVAILABLE) databaseDown = err;
          else {
            failed(replica, err);
            lastError = err;
          }
        }
      }
      throw databaseDown ?? lastError;
    };
  const unary = <K extends keyof HistoryClient>(method: K) =>
    spread((replica, request, rpc) =>
      (replica.client[method] as (request: never, options?: RpcOptions) => Promise<unknown>)(request, rpc),
    );
  // The turn's writes: over each replica's AppendTurns stream, moving on to the next replica
  // when one cannot be reached, as a unary call does.
  const streamedAppend = spread((replica, request, rpc) => replica.appends.append(request, rpc));

  const client = {
    address: targets.join(","),
    transport: options.transport,
    appendTurn: unary("appendTurn"),
    claimTurn: unary("claimTurn"),
    releaseTurn: unary("releaseTurn"),
    prepareTurn: unary("prepareTurn"),
    getTurn: unary("getTurn"),
    getConversation: unary("getConversation"),
    listConversations: unary("listConversations"),
    searchTurns: unary("searchTurns"),
    deleteConversation: unary("deleteConversation"),
    // A stream moves to another replica only while it has yielded nothing.
    exportConversation: (request: never, rpc?: RpcOptions) => ({
      async *[Symbol.asyncIterator]() {
        const candidates = await order();
        for (const [index, replica] of candidates.entries()) {
          let yielded = false;
          try {
            for await (const message of replica.client.exportConversation(
              request,
              attemptOptions(rpc, index === candidates.length - 1),
            )) {
              yielded = true;
              yield message;
            }
            return;
          } catch (err) {
            if (yielded || codeOf(err) !== status.UNAVAILABLE || index === candidates.length - 1) throw err;
            failed(replica, err);
          }
        }
      },
    }),
    replicas: async () => {
      await ready;
      return [...replicas.keys()];
    },
    turnHistory(): TurnHistory {
      const self = client as unknown as HistoryReplicas;
      return {
        getTurn: self.getTurn,
        getConversation: self.getConversation,
        appendTurn: streamedAppend as TurnHistory["appendTurn"],
        claimTurn: self.claimTurn,
        releaseTurn: self.releaseTurn,
        prepareTurn: self.prepareTurn,
        // New connections to every replica: grpc-js shares them between clients of one target
        // through a global pool unless told otherwise.
        reconnect: (): HistoryConnection =>
          historyReplicas([...replicas.keys()], {
            ...options,
            channelOptions: { ...options.channelOptions, "grpc.use_local_subchannel_pool": 1 },
            lookup: async (host) => [host],
            refreshMs: 0,
          }),
      };
    },
    close() {
      closed = true;
      if (timer) clearInterval(timer);
      for (const replica of replicas.values()) {
        replica.appends.close();
        replica.client.close();
      }
    },
  };
  return client as unknown as HistoryReplicas;
}
