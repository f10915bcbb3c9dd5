/**
 * Three pools named like the seed's personas, sampling at temperature 0.7 yet caching every answer
 * (cache_policy always): for tests of the response cache, which the seed's own personas no longer
 * use (they sample, and cache_policy auto caches only deterministic generations).
 */
export const CACHING_AGENTS = ["creative", "analytical", "balanced"].map((name) => ({
  name,
  temperature: 0.7,
  max_tokens: 1000,
  system_prompt: `You are a ${name} assistant.`,
  cache_policy: "always",
}));
