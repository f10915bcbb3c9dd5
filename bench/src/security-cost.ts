import type { RunRecord } from "./measure.js";
import type { SecurityPoint, SecuritySection, SecuritySetup } from "./section-security.js";
import { median, pairedInterval } from "./stats.js";

/** A setup against plaintext at one concurrency. */
export interface SecurityCost {
  /** turns/s of the setup ÷ turns/s of plaintext, each pooled over the rounds. */
  readonly ratio: number;
  /** 1 − ratio: the share of plaintext's throughput the setup gives up (issue 10's cost). */
  readonly cost: number;
  /** p50 of the setup ÷ p50 of plaintext, pooled. */
  readonly p50Ratio: number;
  /** Each round's turns/s ratio (the two windows ran seconds apart). */
  readonly roundRatios: number[];
  /** The median of roundRatios: what a burst of other work in one window cannot move. */
  readonly medianRoundRatio: number;
  /** CPU ms per turn of every watched process ÷ plaintext's. */
  readonly cpuRatio: number;
  /** 95% interval of `ratio`: the rounds resampled in pairs (each round's two windows together). */
  readonly ratioInterval: readonly [number, number];
}

/** The setup and concurrency's point of a section. */
export function pointOf(
  section: SecuritySection,
  setup: SecuritySetup,
  concurrency: number,
): SecurityPoint | undefined {
  return section.points.find((p) => p.setup === setup && p.concurrency === concurrency);
}

/** CPU ms per turn of `service` (all its processes), or of every watched process; NaN if unwatched. */
export function cpuMsPerTurn(run: RunRecord, service?: string): number {
  const services = run.usage?.services ?? [];
  const chosen = service === undefined ? services : services.filter((s) => s.service === service);
  if (chosen.length === 0 || run.perSecond <= 0) return Number.NaN;
  return (1000 * chosen.reduce((sum, s) => sum + s.cpuCores, 0)) / run.perSecond;
}

/** Turns finished inside a run's window (turns/s × window), what pooling adds up. */
function turnsOf(run: RunRecord, windowS: number): number {
  return run.perSecond * windowS;
}

/** What `setup` costs against plaintext at `concurrency`; undefined when either was not measured. */
export function costAgainstPlaintext(
  section: SecuritySection,
  setup: SecuritySetup,
  concurrency: number,
): SecurityCost | undefined {
  const base = pointOf(section, "plaintext", concurrency);
  const point = pointOf(section, setup, concurrency);
  if (!base || !point || base.pooled.perSecond <= 0) return undefined;
  const ratio = point.pooled.perSecond / base.pooled.perSecond;
  const roundRatios = point.rounds.map((run, i) => run.perSecond / (base.rounds[i]?.perSecond ?? Number.NaN));
  return {
    ratio,
    cost: 1 - ratio,
    p50Ratio: point.pooled.latency.p50 / base.pooled.latency.p50,
    roundRatios,
    medianRoundRatio: median(roundRatios),
    cpuRatio: cpuMsPerTurn(point.pooled) / cpuMsPerTurn(base.pooled),
    ratioInterval: pairedInterval(
      point.rounds.map((run) => turnsOf(run, section.windowS)),
      base.rounds.map((run) => turnsOf(run, section.windowS)),
    ),
  };
}
