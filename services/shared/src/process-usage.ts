import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ProcessUsageSchema, UsageService } from "@chorus/proto";
import type { ServiceHandlers } from "./grpc-bridge.js";

/** This process's CPU time, resident memory, uptime and pid, as a ProcessUsage message. */
export function processUsage(): MessageInitShape<typeof ProcessUsageSchema> {
  const cpu = process.cpuUsage();
  return {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    rssBytes: BigInt(process.memoryUsage.rss()),
    uptimeSeconds: process.uptime(),
    pid: process.pid,
  };
}

/** UsageService handlers reporting this process's usage. */
export function usageHandlers(): ServiceHandlers<typeof UsageService> {
  return { getUsage: async () => ({ usage: processUsage() }) };
}
