import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ChorusConfig } from "@chorus/config";
import {
  type GetStatusResponseSchema,
  Health,
  HealthCheckResponse_ServingStatus as Serving,
} from "@chorus/proto";
import { type ClientTransport, createClient, detailsOf, type SupervisorReport } from "@chorus/shared";
import type { Cache } from "../cache/cache.js";
import type { Pool } from "../executor/pool.js";
import type { ScalingSettings } from "../scaling/index.js";
import { supervisorComponent } from "./supervisor-status.js";

type StatusInit = MessageInitShape<typeof GetStatusResponseSchema>;
type Component = { name: string; healthy: boolean; detail: string };

async function historyStatus(address: string, transport: ClientTransport | undefined): Promise<Component> {
  const client = createClient(Health, address, {}, transport);
  try {
    const response = await client.check({ service: "" }, { deadline: new Date(Date.now() + 2000) });
    const healthy = response.status === Serving.SERVING;
    return { name: "history", healthy, detail: `${address} ${Serving[response.status]}` };
  } catch (err) {
    return { name: "history", healthy: false, detail: `${address} unreachable: ${detailsOf(err)}` };
  } finally {
    client.close();
  }
}

async function llmStatus(baseUrl: string, apiKey: string): Promise<Component> {
  try {
    const response = await fetch(`${baseUrl.replace(/\/$/, "")}/models`, {
      headers: { authorization: `Bearer ${apiKey}` },
      signal: AbortSignal.timeout(2000),
    });
    return { name: "llm", healthy: response.ok, detail: `${baseUrl} answered HTTP ${response.status}` };
  } catch (err) {
    return { name: "llm", healthy: false, detail: `${baseUrl} unreachable: ${detailsOf(err)}` };
  }
}

// A pool allowed to scale to zero is healthy there while it has nothing to do.
function poolReady(pool: Pool, settings: ScalingSettings): boolean {
  const running = pool.countByState().RUNNING ?? 0;
  return running > 0 || (pool.blocks.size === 0 && settings.min_blocks === 0 && pool.outstanding === 0);
}

function poolComponent(pool: Pool, settings: ScalingSettings): Component {
  const running = pool.countByState().RUNNING ?? 0;
  const { strategy, min_blocks, max_blocks } = settings;
  const detail =
    `${running} running of ${pool.blocks.size} replicas (${strategy}, ${min_blocks}..${max_blocks} blocks), ` +
    `${pool.running} tasks running, ${pool.queued} queued` +
    (pool.remote.tasks > 0 ? `, ${pool.remote.tasks} routed by other orchestrators` : "") +
    (pool.model.failing ? `; model ${pool.model.state}: ${pool.model.detail}` : "");
  return { name: `pool/${pool.name}`, healthy: poolReady(pool, settings), detail };
}

function scalingMessage(s: ScalingSettings) {
  return {
    strategy: s.strategy,
    initBlocks: s.init_blocks,
    minBlocks: s.min_blocks,
    maxBlocks: s.max_blocks,
    parallelism: s.parallelism,
    workersPerBlock: s.workers_per_block,
    maxIdletime: s.max_idletime,
    strategyPeriod: s.strategy_period,
  };
}

/** Everything GetStatus needs to look at. */
export interface StatusSources {
  readonly config: ChorusConfig;
  readonly pools: ReadonlyMap<string, Pool>;
  readonly cache: Cache | undefined;
  readonly historyAddress: string;
  /** mTLS to history (absent: plaintext). */
  readonly historyTransport?: ClientTransport | undefined;
  readonly llmBaseUrl: string;
  readonly llmApiKey: string;
  readonly version: string;
  /** The scaling settings in force for a pool (the config's, or the platform's overrides). */
  readonly settingsOf: (pool: Pool) => ScalingSettings;
  /** Who scales the pools (component "scaler": leader or follower). */
  readonly scaler?: (() => Component) | undefined;
  /** What the `chorus up` that started this orchestrator restarted (component "supervisor"). */
  readonly supervisor?: (() => SupervisorReport | undefined) | undefined;
}

/** Checks every component and describes every pool. */
export async function statusReport(sources: StatusSources): Promise<StatusInit> {
  const [history, llm] = await Promise.all([
    historyStatus(sources.historyAddress, sources.historyTransport),
    llmStatus(sources.llmBaseUrl, sources.llmApiKey),
  ]);
  const cache: Component = sources.cache
    ? { name: "cache", ...sources.cache.status() }
    : { name: "cache", healthy: true, detail: "disabled (cache.enabled: false)" };
  const supervisor = sources.supervisor?.();
  const pools = [...sources.pools.values()];
  const settings = new Map(pools.map((pool) => [pool, sources.settingsOf(pool)]));
  const settingsOf = (pool: Pool) => settings.get(pool) ?? pool.agent.scaling;
  return {
    workflow: sources.config.workflow,
    initialized: pools.every((pool) => poolReady(pool, settingsOf(pool))),
    components: [
      history,
      cache,
      llm,
      ...(sources.scaler ? [sources.scaler()] : []),
      ...(supervisor ? [supervisorComponent(supervisor)] : []),
      ...pools.map((pool) => poolComponent(pool, settingsOf(pool))),
    ],
    pools: pools.map((pool) => ({
      agent: pool.name,
      model: pool.agent.model,
      queued: pool.queued,
      inFlight: pool.running,
      remoteTasks: pool.remote.tasks,
      replicas: [...pool.blocks.values()].map((block) => ({
        id: block.id,
        address: block.address,
        state: block.state,
        inFlight: block.inFlight,
        workers: block.workers,
      })),
      blocksByState: pool.countByState(),
      scaling: scalingMessage(settingsOf(pool)),
      slots: pool.readySlots,
      modelHealth: {
        state: pool.model.state,
        detail: pool.model.detail,
        sinceMs: BigInt(pool.model.sinceMs),
      },
    })),
    version: sources.version,
  };
}
