import type { RunRecord } from "./measure.js";
import { type BenchResults, CALLS_PER_TURN, type TargetCheck } from "./results.js";
import type { StepReaction } from "./section-autoscale.js";
import type { ProfileSection } from "./section-profiles.js";
import type { ScalingSection } from "./section-scaling.js";
import type { SecuritySection } from "./section-security.js";
import type { SoakSection } from "./section-soak.js";
import { costAgainstPlaintext, pointOf } from "./security-cost.js";

/** Share of the machine's cores in use from which a point that also lost efficiency counts as CPU-bound. */
export const CPU_BOUND_SHARE = 0.75;

/** Efficiency (turns/s ÷ replicas × turns/s of one replica) that still counts as near-linear. */
export const NEAR_LINEAR = 0.8;

function at(runs: readonly RunRecord[], concurrency: number): RunRecord | undefined {
  return runs.find((run) => run.concurrency === concurrency);
}

function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

/** Chorus turns/s over the echo-derived limit (echo calls/s ÷ gRPC calls per turn). */
export function limitFraction(chorus: RunRecord, echo: RunRecord | undefined): number {
  return echo && echo.perSecond > 0 ? chorus.perSecond / (echo.perSecond / CALLS_PER_TURN.total) : Number.NaN;
}

function zeroTargets(zero: ProfileSection | undefined): TargetCheck[] {
  const c1 = zero && at(zero.chorus, 1);
  const direct = zero && at(zero.direct, 1);
  // The model's own time is what three generations sent straight to the simulator take.
  const added = c1 && direct ? c1.latency.p50 - direct.latency.p50 : Number.NaN;
  const checks: TargetCheck[] = [
    {
      target: "zero, c=1: Chorus adds ≤ 2 ms per turn at p50",
      measured: c1
        ? `turn p50 ${fixed(c1.latency.p50)} ms − three direct generations p50 ${fixed(direct?.latency.p50 ?? Number.NaN)} ms = ${fixed(added)} ms added; over the slowest agent task as the orchestrator timed it ${fixed(c1.addedOverSlowestAgent?.p50 ?? Number.NaN)} ms`
        : "not measured",
      met: Number.isFinite(added) ? added <= 2 : null,
    },
  ];
  if (!zero) return checks;
  const ratios = zero.chorus.map((run) => ({
    c: run.concurrency,
    r: run.perSecond / (at(zero.parsl, run.concurrency)?.perSecond ?? Number.NaN),
  }));
  const measuredParsl = ratios.filter(({ r }) => Number.isFinite(r));
  checks.push({
    target: "zero: Chorus turns/s ≥ 5× Parsl at every concurrency",
    measured: measuredParsl.length
      ? measuredParsl.map(({ c, r }) => `c=${c}: ${fixed(r, 1)}×`).join(", ")
      : "Parsl not measured",
    met: measuredParsl.length ? measuredParsl.every(({ r }) => r >= 5) : null,
  });
  const fractions = zero.chorus.map((run) => ({
    c: run.concurrency,
    f: limitFraction(run, at(zero.echo, run.concurrency)),
  }));
  const measuredEcho = fractions.filter(({ f }) => Number.isFinite(f));
  checks.push({
    target: "zero: Chorus turns/s ≥ 40% of the echo-derived limit",
    measured: measuredEcho.map(({ c, f }) => `c=${c}: ${fixed(100 * f, 0)}%`).join(", ") || "not measured",
    met: measuredEcho.length ? measuredEcho.every(({ f }) => f >= 0.4) : null,
  });
  return checks;
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

function scalingTarget(scaling: ScalingSection | undefined, cores: number): TargetCheck {
  const target = "throughput near-linear in replicas until CPU-bound";
  if (!scaling || scaling.points.length < 2) return { target, measured: "not measured", met: null };
  const cpuBound = scaling.points.find(
    (p) => p.efficiency < NEAR_LINEAR && p.machineBusyCores >= CPU_BOUND_SHARE * cores,
  );
  const beforeLimit = scaling.points.filter((p) => !cpuBound || p.replicas < cpuBound.replicas);
  const measured = scaling.points
    .map(
      (p) =>
        `${p.replicas}: ${fixed(p.run.perSecond, 1)}/s (eff ${fixed(p.efficiency)}, CPU ${fixed(p.machineBusyCores, 1)} cores)`,
    )
    .join("; ");
  const limit = cpuBound
    ? `; CPU is the limit from ${cpuBound.replicas} replicas (machine ${fixed(cpuBound.machineBusyCores, 2)} of ${cores} cores busy)`
    : "; CPU never the limit";
  return {
    target,
    measured: `${measured}${limit}`,
    met: beforeLimit.every((p) => p.efficiency >= NEAR_LINEAR),
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
export type Measured = Pick<BenchResults, "profiles" | "scaling" | "autoscale" | "soak" | "security">;

/** Checks every target of issues 5 and 10 against one run's numbers. */
export function checkTargets(run: Measured, cores: number): TargetCheck[] {
  const byName = (name: string) => run.profiles.find((p) => p.profile === name);
  return [
    ...zeroTargets(byName("zero")),
    fastTarget(byName("fast")),
    scalingTarget(run.scaling, cores),
    autoscaleTarget(run.autoscale),
    ...soakTargets(run.soak),
    securityTarget(run.security),
  ];
}
