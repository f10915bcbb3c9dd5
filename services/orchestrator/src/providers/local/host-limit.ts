import type { ChorusConfig } from "@chorus/config";
import { HostCpu } from "./host-cpu.js";
import { type HostLimit, hostLimit } from "./local-provider.js";

/** The local provider's host limit from `provider.local`: a process count, and a CPU gate unless max_cpu_busy is 1. */
export function localHostLimit(local: ChorusConfig["provider"]["local"]): HostLimit {
  const limit = hostLimit(local.max_agent_blocks);
  if (local.max_cpu_busy >= 1) return limit;
  const cpu = new HostCpu();
  return { ...limit, cpu: { busy: () => cpu.busy(), max: local.max_cpu_busy } };
}
