/** The simulator profiles of issue #5: how long the simulated model takes to answer. */
export const PROFILE_NAMES = ["zero", "fast", "slow"] as const;

/** The name of one simulator profile. */
export type ProfileName = (typeof PROFILE_NAMES)[number];

/** The `simulator` keys a profile sets. */
export interface SimulatorProfile {
  readonly ttft_ms: number;
  readonly ttft_std_ms: number;
  readonly itl_ms: number;
  readonly itl_std_ms: number;
  readonly tokens: number;
}

/** zero: pure orchestration cost; fast and slow: the latencies (std-devs scaled alike for slow). */
export const PROFILES: Record<ProfileName, SimulatorProfile> = {
  zero: { ttft_ms: 0, ttft_std_ms: 0, itl_ms: 0, itl_std_ms: 0, tokens: 64 },
  fast: { ttft_ms: 100, ttft_std_ms: 20, itl_ms: 12, itl_std_ms: 2, tokens: 64 },
  slow: { ttft_ms: 500, ttft_std_ms: 100, itl_ms: 30, itl_std_ms: 5, tokens: 256 },
};

/**
 * The full `simulator` section for a profile. The bench simulator never slows down under load and
 * never queues: the model is held constant so only the orchestration layer varies.
 */
export function simulatorSection(profile: ProfileName | SimulatorProfile): Record<string, number | string> {
  return {
    host: "127.0.0.1",
    port: 0,
    ...(typeof profile === "string" ? PROFILES[profile] : profile),
    max_concurrent: 4096,
    queue_limit: 4096,
    slowdown: 0,
    failure_rate: 0,
    seed: 5,
  };
}

/** Mean generation time of one answer in a profile, in ms (ttft + (tokens − 1) × itl). */
export function meanGenerationMs(profile: ProfileName | SimulatorProfile): number {
  const p = typeof profile === "string" ? PROFILES[profile] : profile;
  return p.ttft_ms + (p.tokens - 1) * p.itl_ms;
}
