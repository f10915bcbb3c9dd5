import type { StepReaction } from "./section-autoscale.js";
import type { CacheSection } from "./section-cache.js";
import type { ChaosSection } from "./section-chaos.js";
import type { ProfileSection } from "./section-profiles.js";
import type { ScalingSection } from "./section-scaling.js";
import type { SecuritySection } from "./section-security.js";
import type { SoakSection } from "./section-soak.js";

/**
 * gRPC calls one Chat turn makes (new conversation, no turn id, three agents, cache miss):
 * client → orchestrator Chat, orchestrator → each agent Generate, orchestrator → history AppendTurn.
 * A continued conversation adds GetConversation, a client turn id adds GetTurn; agents reach the
 * model over HTTP, which is not counted.
 */
export const CALLS_PER_TURN = { total: 5, chat: 1, agentGenerate: 3, historyAppendTurn: 1 };

/** The machine the run happened on, and how busy it was. */
export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGb: number;
  readonly node: string;
  readonly uptimeBefore: string;
  readonly uptimeAfter: string;
  /** [seconds into the run, 1-minute load average]. */
  readonly load: Array<[number, number]>;
}

/** One target (issues 5 and 10) and whether this run met it. */
export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  /** null when the run did not measure it. */
  readonly met: boolean | null;
}

/** Everything one bench run produced (written as JSON under bench/results/). */
export interface BenchResults {
  readonly version: 1;
  readonly smoke: boolean;
  /** The sections asked for (`--sections`); absent: the whole suite. */
  readonly sections?: readonly string[] | undefined;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationS: number;
  readonly git: { commit: string; dirtyFiles: number };
  readonly machine: MachineInfo;
  readonly callsPerTurn: typeof CALLS_PER_TURN;
  readonly profiles: ProfileSection[];
  readonly cache?: CacheSection | undefined;
  readonly scaling?: ScalingSection | undefined;
  /** Plaintext against mesh mTLS against mesh mTLS + public TLS + API keys (`zero`). */
  readonly security?: SecuritySection | undefined;
  readonly soak?: SoakSection | undefined;
  /** The chaos soak and the SIGSTOP stalls (issue 11). */
  readonly chaos?: ChaosSection | undefined;
  readonly autoscale: StepReaction[];
  readonly targets: TargetCheck[];
  /** Sections that failed, with their error. */
  readonly errors: string[];
}
