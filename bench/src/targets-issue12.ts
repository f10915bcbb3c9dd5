import type { RunRecord } from "./measure.js";
import type { TargetCheck } from "./results.js";
import type { StepReaction } from "./section-autoscale.js";
import type { ProfileSection } from "./section-profiles.js";
import type { ScalingSection } from "./section-scaling.js";
import type { StragglerSection } from "./section-straggler.js";
import { cpuMsPerTurn } from "./security-cost.js";

/** Share of the machine's cores in use from which a point that also lost efficiency counts as CPU-bound. */
export const CPU_BOUND_SHARE = 0.75;

function at(runs: readonly RunRecord[] | undefined, concurrency: number): RunRecord | undefined {
  return runs?.find((run) => run.concurrency === concurrency);
}

function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

/** A ratio target: met when `ratio` is on the right side of `limit`, not judged when unmeasured. */
function check(target: string, ratio: number, limit: number, most: boolean, measured: string): TargetCheck {
  if (!Number.isFinite(ratio)) return { target, measured: measured || "not measured", met: null };
  return { target, measured, met: most ? ratio <= limit : ratio >= limit, ratio: Number(ratio.toFixed(4)) };
}

function p50Target(zero: ProfileSection | undefined): TargetCheck {
  const chorus = at(zero?.chorus, 1);
  const direct = at(zero?.direct, 1);
  const ratio = chorus && direct ? chorus.latency.p50 / direct.latency.p50 : Number.NaN;
  return check(
    "zero, c=1: turn p50 ÷ direct p50 ≤ 2.5×",
    ratio,
    2.5,
    true,
    chorus && direct
      ? `${fixed(ratio)}× (${fixed(chorus.latency.p50)} ÷ ${fixed(direct.latency.p50)} ms; over the slowest agent task ${fixed(chorus.addedOverSlowestAgent?.p50 ?? Number.NaN)} ms)`
      : "",
  );
}

function parslTarget(zero: ProfileSection | undefined): TargetCheck {
  const ratios = [16, 64].map((c) => {
    const chorus = at(zero?.chorus, c);
    const parsl = at(zero?.parsl, c);
    return { c, r: chorus && parsl ? chorus.perSecond / parsl.perSecond : Number.NaN, chorus, parsl };
  });
  const worst = Math.min(...ratios.map(({ r }) => r));
  const measured = ratios
    .filter(({ r }) => Number.isFinite(r))
    .map(
      ({ c, r, chorus, parsl }) =>
        `c=${c}: ${fixed(r)}× (${fixed(chorus?.perSecond ?? 0, 0)} ÷ ${fixed(parsl?.perSecond ?? 0, 0)})`,
    )
    .join(", ");
  return check("zero: Chorus ÷ Parsl turns/s ≥ 3× at c=16 and c=64", worst, 3, false, measured);
}

function directThroughputTarget(zero: ProfileSection | undefined): TargetCheck {
  const chorus = at(zero?.chorus, 64);
  const direct = at(zero?.direct, 64);
  const ratio = chorus && direct ? chorus.perSecond / direct.perSecond : Number.NaN;
  return check(
    "zero, c=64: Chorus ÷ direct turns/s ≥ 0.6",
    ratio,
    0.6,
    false,
    chorus && direct
      ? `${fixed(ratio)} (${fixed(chorus.perSecond, 0)} ÷ ${fixed(direct.perSecond, 0)} turns/s)`
      : "",
  );
}

/** CPU ms per turn of the services whose name starts with `prefix`, summed. */
function cpuOf(run: RunRecord, prefix: string): number {
  const services = run.usage?.services.filter((s) => s.service.startsWith(prefix)) ?? [];
  return services.reduce((sum, s) => sum + cpuMsPerTurn(run, s.service), 0);
}

function cpuTarget(zero: ProfileSection | undefined): TargetCheck {
  const chorus = at(zero?.chorus, 16);
  const direct = at(zero?.direct, 16);
  const all = chorus ? cpuMsPerTurn(chorus) : Number.NaN;
  const base = direct ? cpuMsPerTurn(direct) : Number.NaN;
  const ratio = all / base;
  const parts = chorus
    ? ["orchestrator", "agent:", "history", "llm-sim", "load-generator"]
        .map((p) => `${p.replace(":", "s")} ${fixed(cpuOf(chorus, p))}`)
        .join(", ")
    : "";
  const baseParts = direct
    ? `client ${fixed(cpuOf(direct, "load-generator"))}, llm-sim ${fixed(cpuOf(direct, "llm-sim"))}`
    : "";
  return check(
    "zero, c=16: CPU per turn of every process ÷ direct's ≤ 2×",
    ratio,
    2,
    true,
    chorus && direct ? `${fixed(ratio)}× (${fixed(all)} ms: ${parts} ÷ ${fixed(base)} ms: ${baseParts})` : "",
  );
}

function replicasTarget(scaling: ScalingSection | undefined, cores: number): TargetCheck {
  const point = scaling?.points.find((p) => p.replicas === 8);
  const cpuBound = point && point.efficiency < 0.8 && point.machineBusyCores >= CPU_BOUND_SHARE * cores;
  return check(
    "fast, 8 replicas per pool: efficiency ≥ 0.8",
    point?.efficiency ?? Number.NaN,
    0.8,
    false,
    point
      ? `${fixed(point.efficiency)} (${fixed(point.run.perSecond, 1)} of an ideal ${fixed(point.idealPerSecond, 1)} turns/s; machine ${fixed(point.machineBusyCores)} of ${cores} cores busy, Chorus ${fixed(point.chorusCores)}${cpuBound ? ": CPU-bound" : ""})`
      : "",
  );
}

function stragglerTarget(straggler: StragglerSection | undefined): TargetCheck {
  const phase = (id: string) => straggler?.phases.find((p) => p.id === id);
  const healthy = phase("healthy");
  const slow = phase("straggler");
  const hedged = phase("straggler-hedged");
  const ratio = healthy && hedged ? hedged.run.latency.p99 / healthy.run.latency.p99 : Number.NaN;
  const measured =
    healthy && slow && hedged
      ? `${fixed(ratio)}× (p99 ${fixed(hedged.run.latency.p99, 0)} ÷ ${fixed(healthy.run.latency.p99, 0)} ms; ` +
        `unhedged ${fixed(slow.run.latency.p99, 0)} ms = ${fixed(slow.run.latency.p99 / healthy.run.latency.p99)}×; ` +
        `${hedged.hedges.sent} hedges sent, ${hedged.hedges.won} won, ${hedged.slowModel.aborted} straggler copies cancelled)`
      : "";
  return check(
    "straggler replica (10× slower): p99 with hedging ÷ healthy p99 ≤ 1.3",
    ratio,
    1.3,
    true,
    measured,
  );
}

function loadStepTarget(reactions: readonly StepReaction[]): TargetCheck {
  const chorus = reactions.find((r) => r.system === "chorus:chorus");
  const parsl = reactions.find((r) => r.system === "parsl:simple");
  const span = (r: StepReaction | undefined) =>
    r && r.firstDecisionMs !== null && r.firstNewBlockServingMs !== null
      ? r.firstNewBlockServingMs - r.firstDecisionMs
      : Number.NaN;
  const ms = span(chorus);
  const target = "fast, local provider: scale-out decision → first new block serving ≤ 1 s";
  if (!Number.isFinite(ms))
    return { target, measured: chorus ? "no new block served" : "not measured", met: chorus ? false : null };
  return {
    target,
    measured: `${fixed(ms / 1000)} s${parsl ? ` (Parsl simple ${fixed(span(parsl) / 1000)} s)` : ""}`,
    met: ms <= 1000,
    ratio: Number((ms / 1000).toFixed(4)),
  };
}

/** What the failed-turns target counts. */
export interface FailedTurnsInput {
  readonly profiles: readonly ProfileSection[];
  readonly scaling?: ScalingSection | undefined;
  readonly autoscale: readonly StepReaction[];
  readonly soakRun?: RunRecord | undefined;
  readonly security?: readonly RunRecord[] | undefined;
  readonly straggler?: StragglerSection | undefined;
}

function failedTarget(input: FailedTurnsInput): TargetCheck {
  const parts: Array<[string, number]> = [
    [
      "profiles",
      input.profiles.length
        ? input.profiles.flatMap((p) => p.chorus).reduce((sum, r) => sum + r.failed, 0)
        : Number.NaN,
    ],
    ["replicas", input.scaling?.points.reduce((sum, p) => sum + p.run.failed, 0) ?? Number.NaN],
    [
      "load step",
      input.autoscale.length ? input.autoscale.reduce((sum, r) => sum + r.failed, 0) : Number.NaN,
    ],
    ["soak", input.soakRun?.failed ?? Number.NaN],
    ["security", input.security?.reduce((sum, r) => sum + r.failed, 0) ?? Number.NaN],
    ["straggler", input.straggler?.phases.reduce((sum, p) => sum + p.run.failed, 0) ?? Number.NaN],
  ];
  const measuredParts = parts.filter(([, n]) => Number.isFinite(n));
  const total = measuredParts.reduce((sum, [, n]) => sum + n, 0);
  return {
    target: "failed turns anywhere, including the soak: 0",
    measured: measuredParts.length
      ? `${total} (${measuredParts.map(([name, n]) => `${name} ${n}`).join(", ")})`
      : "not measured",
    met: measuredParts.length ? total === 0 : null,
  };
}

/** The targets of issue 12, each a ratio from this one run against its limit. */
export function issue12Targets(input: FailedTurnsInput & { readonly cores: number }): TargetCheck[] {
  const zero = input.profiles.find((p) => p.profile === "zero");
  return [
    p50Target(zero),
    parslTarget(zero),
    directThroughputTarget(zero),
    cpuTarget(zero),
    replicasTarget(input.scaling, input.cores),
    stragglerTarget(input.straggler),
    loadStepTarget(input.autoscale),
    failedTarget(input),
  ];
}
