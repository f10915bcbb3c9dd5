import type { StepReaction } from "./section-autoscale.js";
import type { CacheSection } from "./section-cache.js";
import type { ChaosSection } from "./section-chaos.js";
import type { HistoryBackendsSection } from "./section-history-backends.js";
import type { ProfileSection } from "./section-profiles.js";
import type { ScalingSection } from "./section-scaling.js";
import type { SecuritySection } from "./section-security.js";
import type { SoakSection } from "./section-soak.js";
import type { StragglerSection } from "./section-straggler.js";
import type { StreamSection } from "./section-stream.js";
import type { TracingSection } from "./section-tracing.js";

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

/** One target (issues 5, 10 and 12) and whether this run met it. */
export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  /** null when the run did not measure it. */
  readonly met: boolean | null;
  /** The measured ratio (or seconds) judged against the target's limit, when it is one number. */
  readonly ratio?: number | undefined;
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
  /** Runs before issue 12 only: the unary gRPC calls a turn made then (5), for their echo-derived limit. */
  readonly callsPerTurn?: { readonly total: number } | undefined;
  readonly profiles: ProfileSection[];
  readonly cache?: CacheSection | undefined;
  readonly scaling?: ScalingSection | undefined;
  /** Plaintext against mesh mTLS against mesh mTLS + public TLS + API keys (`zero`). */
  readonly security?: SecuritySection | undefined;
  /** One replica slowed 10×: p99 with hedging off and on against healthy (issue 12). */
  readonly straggler?: StragglerSection | undefined;
  /** SQLite against PostgreSQL history (issue 13). */
  readonly historyBackends?: HistoryBackendsSection | undefined;
  /** Tracing on against off (issue 13). */
  readonly tracing?: TracingSection | undefined;
  /** CPU per token relayed by ChatStream, beside direct streaming (issue 12). */
  readonly stream?: StreamSection | undefined;
  readonly soak?: SoakSection | undefined;
  /** The chaos soak and the SIGSTOP stalls (issue 11). */
  readonly chaos?: ChaosSection | undefined;
  readonly autoscale: StepReaction[];
  readonly targets: TargetCheck[];
  /** Sections that failed, with their error. */
  readonly errors: string[];
}
