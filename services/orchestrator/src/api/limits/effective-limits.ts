import type { Principal } from "@chorus/shared";
import { LIMIT_ORDER, type Limits } from "./counter-store.js";

/**
 * The limits `principal` is held to: each value its credential sets (above 0), else the configured
 * default; 0 in the result means unlimited.
 */
export function limitsFor(principal: Principal, defaults: Limits): Limits {
  const own = principal.limits ?? {};
  return {
    concurrent_turns: own.concurrent_turns || defaults.concurrent_turns,
    requests_per_minute: own.requests_per_minute || defaults.requests_per_minute,
    tokens_per_minute: own.tokens_per_minute || defaults.tokens_per_minute,
  };
}

/** True when none of `limits` applies. */
export function unlimited(limits: Limits): boolean {
  return LIMIT_ORDER.every((name) => limits[name] === 0);
}
