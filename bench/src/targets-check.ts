import type { RunRecord } from "./measure.js";
import type { BenchResults, TargetCheck } from "./results.js";
import type { StepReaction } from "./section-autoscale.js";
import type { ProfileSection } from "./section-profiles.js";
import type { SecuritySection } from "./section-security.js";
import type { SoakSection } from "./section-soak.js";
import { costAgainstPlaintext, pointOf } from "./security-cost.js";
import { issue12Targets } from "./targets-issue12.js";

function at(runs: readonly RunRecord[], concurrency: number): RunRecord | undefined {
  return runs.find((run) => run.concurrency === concurrency);
}

function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

function fastTarget(fast: ProfileSection | undefined): TargetCheck {
  const chorus = fast && at(fast.chorus, 16);
  const direct = fast && at(fast.direct, 16);
  if (!chorus || !direct)
    return {
      target: "fast, c=16: p50 ≤ 1.05× the slowest agent's generation",
      measured: "not measured",
      met: null,
    };
  const ratio = chorus.latency.p50 / direct.latency.p50;
  return {
    target: "fast, c=16: p50 ≤ 1.05× the slowest agent's generation",
    measured: `${fixed(ratio, 3)}× (turn p50 ${fixed(chorus.latency.p50, 0)} ms; slowest of three direct generations p50 ${fixed(direct.latency.p50, 0)} ms; orchestrator-measured slowest agent task p50 ${fixed(chorus.slowestAgent?.p50 ?? Number.NaN, 0)} ms)`,
    met: ratio <= 1.05,
  };
}

function autoscaleTarget(reactions: readonly StepReaction[]): TargetCheck {
  const chorus = reactions.find((r) => r.system === "chorus:chorus");
  const target = "first scale-out decision within 1 s of the load step; no turn fails";
  if (!chorus) return { target, measured: "not measured", met: null };
  const others = reactions
    .filter((r) => r !== chorus)
    .map((r) => `${r.system} ${r.firstDecisionMs ?? "none"} ms`);
  return {
    target,
    measured: `chorus strategy ${chorus.firstDecisionMs ?? "none"} ms, ${chorus.failed} failed of ${chorus.turns}${others.length ? ` (${others.join(", ")})` : ""}`,
    met:
      chorus.firstDecisionMs !== null &&
      chorus.firstDecisionMs <= 1000 &&
      reactions.every((r) => r.failed === 0),
  };
}

function soakTargets(soak: SoakSection | undefined): TargetCheck[] {
  const agents = soak?.series.filter((s) => s.service.startsWith("agent:")) ?? [];
  if (!soak || agents.length === 0) {
    return [
      {
        target: "idle agent RSS ≤ 80 MB; no growth over a bounded soak",
        measured: "not measured",
        met: null,
      },
    ];
  }
  const idle = Math.max(...agents.map((s) => s.idleBeforeMb));
  const growth = soak.series.map(
    (s) => `${s.service} ${fixed(s.slopeMbPerMin)} MB/min (${fixed(s.earlyMb, 0)}→${fixed(s.endMb, 0)} MB)`,
  );
  return [
    {
      target: "idle agent replica RSS ≤ 80 MB",
      measured: `largest idle agent ${fixed(idle, 1)} MB`,
      met: idle <= 80,
    },
    {
      target: `no RSS growth over the ${soak.durationS} s soak`,
      measured: growth.join("; "),
      met: soak.series.every((s) => s.slopeMbPerMin < 1 && s.endMb <= s.earlyMb * 1.1 + 2),
    },
  ];
}

/** Most throughput TLS + API keys may cost against plaintext at c=16 (issue 10). */
export const SECURITY_MAX_COST = 0.1;

function percent(value: number): string {
  return `${fixed(100 * value, 1)}%`;
}

function securityTarget(security: SecuritySection | undefined): TargetCheck {
  const target = `zero, c=16: mesh mTLS + public TLS + API keys cost ≤ ${percent(SECURITY_MAX_COST)} of plaintext turns/s`;
  const full = security && costAgainstPlaintext(security, "mtls-tls-key", 16);
  const mesh = security && costAgainstPlaintext(security, "mesh-mtls", 16);
  if (!security || !full) return { target, measured: "not measured", met: null };
  const turns = (setup: "plaintext" | "mtls-tls-key") =>
    fixed(pointOf(security, setup, 16)?.pooled.perSecond ?? Number.NaN, 1);
  const more = (ratio: number | undefined) =>
    `${ratio !== undefined && ratio >= 1 ? "+" : ""}${percent((ratio ?? Number.NaN) - 1)}`;
  const [low, high] = full.ratioInterval;
  return {
    target,
    measured:
      `cost ${percent(full.cost)} (95% interval ${percent(1 - high)} to ${percent(1 - low)} over ${security.rounds} paired rounds): ` +
      `${turns("mtls-tls-key")} against ${turns("plaintext")} turns/s; p50 ${fixed(full.p50Ratio, 3)}×; CPU per turn ${more(full.cpuRatio)}; ` +
      `mesh mTLS alone ${percent(mesh?.cost ?? Number.NaN)} (CPU per turn ${more(mesh?.cpuRatio)})`,
    met: full.cost <= SECURITY_MAX_COST,
  };
}

/** What the targets are judged on: a run's sections. */
export type Measured = Pick<BenchResults, "profiles" | "scaling" | "autoscale" | "soak" | "security"> &
  Partial<Pick<BenchResults, "straggler">>;

/**
 * Checks every target against one run's numbers: issue 12's ratios first (they replace issue 5's
 * zero-profile and replica targets), then those of issues 5 and 10 that still stand.
 */
export function checkTargets(run: Measured, cores: number): TargetCheck[] {
  const byName = (name: string) => run.profiles.find((p) => p.profile === name);
  const security = run.security?.points.map((p) => p.pooled);
  return [
    ...issue12Targets({ ...run, soakRun: run.soak?.run, security, cores }),
    fastTarget(byName("fast")),
    autoscaleTarget(run.autoscale),
    ...soakTargets(run.soak),
    securityTarget(run.security),
  ];
}
