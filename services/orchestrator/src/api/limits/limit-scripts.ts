// Lua run inside Redis, so that checking and counting are one atomic step across every orchestrator.
// GET of a missing key is false in Lua, hence `or "0"`.

/**
 * KEYS: requests of the window, tokens of the window, turns in flight. ARGV: concurrent_turns,
 * requests_per_minute, tokens_per_minute (0: unlimited), window TTL ms, slot TTL ms. Returns 0 when
 * admitted (one request counted, one slot taken), else 1, 2 or 3: the limit reached, in LIMIT_ORDER.
 */
export const ADMIT_SCRIPT = `
local used = {
  tonumber(redis.call("GET", KEYS[3]) or "0"),
  tonumber(redis.call("GET", KEYS[1]) or "0"),
  tonumber(redis.call("GET", KEYS[2]) or "0"),
}
for i = 1, 3 do
  local max = tonumber(ARGV[i])
  if max > 0 and used[i] >= max then return i end
end
redis.call("INCR", KEYS[1])
redis.call("PEXPIRE", KEYS[1], ARGV[4])
redis.call("INCR", KEYS[3])
redis.call("PEXPIRE", KEYS[3], ARGV[5])
return 0
`;

/** KEYS: turns in flight. ARGV: slot TTL ms. Gives one slot back (never below 0) and refreshes the TTL. */
export const RELEASE_SCRIPT = `
local turns = tonumber(redis.call("GET", KEYS[1]) or "0")
if turns > 0 then
  redis.call("DECR", KEYS[1])
  redis.call("PEXPIRE", KEYS[1], ARGV[1])
end
return turns
`;

/** KEYS: tokens of the window. ARGV: tokens, window TTL ms. Adds the tokens. */
export const ADD_TOKENS_SCRIPT = `
redis.call("INCRBY", KEYS[1], ARGV[1])
redis.call("PEXPIRE", KEYS[1], ARGV[2])
return 0
`;
