import { concatResults } from "./drive.js";
import { measure, type RunRecord, record, withoutCdf } from "./measure.js";
import { pairedInterval } from "./stats.js";
import type { Target } from "./targets.js";
import { poolUsage, type WatchedProcess } from "./usage.js";

/** One of the setups an A/B section compares: an open client and the processes whose CPU counts. */
export interface Variant {
  readonly id: string;
  readonly target: Target;
  processes(): WatchedProcess[];
}

/** How an A/B section runs: per level, `rounds` rounds of one short window per variant, back to back. */
export interface RoundsPlan {
  readonly levels: readonly number[];
  readonly rounds: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Unrecorded turns each variant serves first (at the highest level), within `prewarmMs`. */
  readonly prewarmTurns: number;
  readonly prewarmMs: number;
}

/** One variant at one concurrency: all rounds pooled, and each round alone (without its CDF). */
export interface VariantPoint {
  readonly variant: string;
  readonly concurrency: number;
  readonly pooled: RunRecord;
  readonly rounds: RunRecord[];
}

/** Round `round`'s order: the variants rotated by `round`, so none always runs first or last. */
export function rotated<T>(items: readonly T[], round: number): T[] {
  return items.map((_, i) => items[(i + round) % items.length] as T);
}

/**
 * Runs every level × round × variant over the variants' open clients, each round's variants back
 * to back in rotated order (a burst of other work on a shared machine then lands in a window or two
 * of each instead of all of one), and pools each variant's rounds per level.
 */
export async function measureRounds(
  name: string,
  profile: string,
  plan: RoundsPlan,
  variants: readonly Variant[],
  maxCalls: number,
): Promise<VariantPoint[]> {
  const runs = new Map<string, Awaited<ReturnType<typeof measure>>[]>();
  for (const concurrency of plan.levels) {
    for (let round = 0; round < plan.rounds; round += 1) {
      const line: string[] = [];
      for (const variant of rotated(variants, round)) {
        const spec = { mode: "closed" as const, concurrency, ...pick(plan), maxCalls };
        const measured = await measure(`chorus:${variant.id}`, profile, spec, variant.target, () =>
          variant.processes(),
        );
        const key = `${variant.id} ${concurrency}`;
        runs.set(key, [...(runs.get(key) ?? []), measured]);
        line.push(`${variant.id} ${measured.run.perSecond}/s p50 ${measured.run.latency.p50} ms`);
      }
      process.stderr.write(`bench: ${name} c=${concurrency} round ${round + 1}: ${line.join(", ")}\n`);
    }
  }
  return variants.flatMap(({ id }) =>
    plan.levels.map((concurrency): VariantPoint => {
      const measured = runs.get(`${id} ${concurrency}`) ?? [];
      const usages = measured.flatMap(({ run }) => (run.usage ? [run.usage] : []));
      const spec = { concurrency, mode: "closed" as const };
      const all = concatResults(measured.map((m) => m.result));
      return {
        variant: id,
        concurrency,
        pooled: record(`chorus:${id}`, profile, spec, all, poolUsage(usages)),
        rounds: measured.map((m) => withoutCdf(m.run)),
      };
    }),
  );
}

function pick(plan: RoundsPlan): { warmupMs: number; durationMs: number } {
  return { warmupMs: plan.warmupMs, durationMs: plan.durationMs };
}

/** `variant` against `base` at one level: turns/s ratio with its paired 95% interval, p50 ratio. */
export interface VariantComparison {
  readonly ratio: number;
  readonly interval: readonly [number, number];
  readonly p50Ratio: number;
}

/** Compares two points of the same level; undefined when either is missing or made no progress. */
export function compare(
  points: readonly VariantPoint[],
  variant: string,
  base: string,
  concurrency: number,
): VariantComparison | undefined {
  const a = points.find((p) => p.variant === variant && p.concurrency === concurrency);
  const b = points.find((p) => p.variant === base && p.concurrency === concurrency);
  if (!a || !b || b.pooled.perSecond <= 0) return undefined;
  return {
    ratio: a.pooled.perSecond / b.pooled.perSecond,
    // Every window has the same length, so turns/s stand for turns in the paired bootstrap.
    interval: pairedInterval(
      a.rounds.map((r) => r.perSecond),
      b.rounds.map((r) => r.perSecond),
    ),
    p50Ratio: a.pooled.latency.p50 / b.pooled.latency.p50,
  };
}
