import { hostname } from "node:os";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceUsageSchema, UsageService } from "@chorus/proto";
import { detailsOf, type PromiseClient, processUsage } from "@chorus/shared";
import type { Pool } from "../executor/pool.js";

type ServiceUsageInit = MessageInitShape<typeof ServiceUsageSchema>;

/** How long GetStats waits for each process's usage. */
const USAGE_TIMEOUT_MS = 2000;

/** Where GetStats finds the processes of the mesh. */
export interface UsageSources {
  readonly pools: ReadonlyMap<string, Pool>;
  readonly historyAddress: string;
  readonly historyUsage: Pick<PromiseClient<typeof UsageService>, "getUsage">;
}

async function historyEntry(sources: UsageSources): Promise<ServiceUsageInit> {
  const entry = { service: "history", instance: sources.historyAddress };
  try {
    const deadline = new Date(Date.now() + USAGE_TIMEOUT_MS);
    return { ...entry, usage: (await sources.historyUsage.getUsage({}, { deadline })).usage };
  } catch (err) {
    return { ...entry, error: detailsOf(err) };
  }
}

function agentEntries(pool: Pool): Array<Promise<ServiceUsageInit>> {
  return [...pool.blocks.values()]
    .filter((block) => block.state === "RUNNING" || block.state === "DRAINING")
    .map(async (block) => {
      const entry = { service: "agent", instance: `${pool.name}/${block.id}` };
      try {
        if (!block.client) throw new Error("no connection");
        const deadline = new Date(Date.now() + USAGE_TIMEOUT_MS);
        return { ...entry, usage: (await block.client.describe({}, { deadline })).usage };
      } catch (err) {
        return { ...entry, error: detailsOf(err) };
      }
    });
}

/** CPU and memory of this orchestrator, the history service and every running agent replica. */
export async function serviceUsages(sources: UsageSources): Promise<ServiceUsageInit[]> {
  const own = { service: "orchestrator", instance: hostname(), usage: processUsage() };
  const others = await Promise.all([
    historyEntry(sources),
    ...[...sources.pools.values()].flatMap(agentEntries),
  ]);
  return [own, ...others];
}
