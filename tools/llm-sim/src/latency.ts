import type { SimulatorOptions } from "./options.js";
import { normalNonNegative, type Random } from "./prng.js";

type LatencyKnobs = Pick<SimulatorOptions, "ttft_ms" | "ttft_std_ms" | "itl_ms" | "itl_std_ms" | "slowdown">;

/** Samples time-to-first-token and inter-token delays, slowed down by the current load. */
export class LatencyModel {
  constructor(
    private readonly knobs: LatencyKnobs,
    private readonly random: Random,
    /** Fraction of the concurrency limit in use now, 0..1. */
    private readonly load: () => number,
  ) {}

  /** Milliseconds before the first token. */
  firstToken(): number {
    return this.sample(this.knobs.ttft_ms, this.knobs.ttft_std_ms);
  }

  /** Milliseconds between two tokens. */
  nextToken(): number {
    return this.sample(this.knobs.itl_ms, this.knobs.itl_std_ms);
  }

  private sample(mean: number, std: number): number {
    // Zero knobs must not touch the RNG or the clock: the zero profile measures pure overhead.
    if (mean <= 0 && std <= 0) return 0;
    return normalNonNegative(this.random, mean, std) * (1 + this.knobs.slowdown * this.load());
  }
}
