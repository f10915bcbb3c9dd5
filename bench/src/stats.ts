import { round } from "./usage.js";

/** The p-th percentile (0..100) of ascending `sorted`, by linear interpolation; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const a = sorted[low] ?? 0;
  const b = sorted[high] ?? a;
  return a + (b - a) * (rank - low);
}

/** Latency percentiles of a set of samples, in ms. */
export interface LatencySummary {
  readonly n: number;
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** Summarises latencies (ms). */
export function summarize(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, v) => sum + v, 0) / (sorted.length || 1);
  return {
    n: sorted.length,
    mean: round(mean, 3),
    p50: round(percentile(sorted, 50), 3),
    p95: round(percentile(sorted, 95), 3),
    p99: round(percentile(sorted, 99), 3),
    max: round(sorted.at(-1) ?? Number.NaN, 3),
  };
}

/** `points` evenly spaced quantiles of `values` as [latency, fraction] pairs, for CDF plots. */
export function cdf(values: readonly number[], points = 200): Array<[number, number]> {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const out: Array<[number, number]> = [];
  for (let i = 0; i <= points; i += 1) {
    const fraction = i / points;
    out.push([round(percentile(sorted, fraction * 100), 3), round(fraction, 4)]);
  }
  return out;
}

/** Least-squares slope of y over x. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** The median of `values` (NaN when empty). */
export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * The 2.5th and 97.5th percentiles of Σ setup ÷ Σ base over `resamples` bootstrap draws of the
 * rounds, each draw keeping a round's two runs together; a fixed seed makes it repeatable.
 */
export function pairedInterval(
  setup: readonly number[],
  base: readonly number[],
  resamples = 2000,
): [number, number] {
  const n = Math.min(setup.length, base.length);
  if (n === 0) return [Number.NaN, Number.NaN];
  let seed = 1;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const ratios: number[] = [];
  for (let draw = 0; draw < resamples; draw += 1) {
    let top = 0;
    let bottom = 0;
    for (let i = 0; i < n; i += 1) {
      const pick = Math.floor(next() * n);
      top += setup[pick] as number;
      bottom += base[pick] as number;
    }
    ratios.push(bottom > 0 ? top / bottom : Number.NaN);
  }
  ratios.sort((a, b) => a - b);
  return [
    ratios[Math.floor(0.025 * resamples)] as number,
    ratios[Math.ceil(0.975 * resamples) - 1] as number,
  ];
}
