import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { createLogger, type Principal } from "@chorus/shared";
import { type RedisServer, startRedisServer } from "@chorus/shared/testing";
import { status } from "@grpc/grpc-js";
import type { CounterStore, Limits } from "./counter-store.js";
import { LimitExceededError } from "./limit-exceeded.js";
import { MemoryCounterStore } from "./memory-counter-store.js";
import { PrincipalLimiter, type PrincipalLimiterOptions } from "./principal-limiter.js";
import { RedisCounterStore } from "./redis-counter-store.js";

const NONE: Limits = { concurrent_turns: 0, requests_per_minute: 0, tokens_per_minute: 0 };
// 15 s into a minute: the window has 45 s left.
const T0 = Date.UTC(2030, 0, 1, 12, 0, 15);

let ids = 0;
const keyPrincipal = (limits?: Principal["limits"]): Principal => {
  ids += 1;
  return { id: `user-${ids}`, roles: new Set(["user"]), via: "key", credentialId: `k${ids}`, limits };
};

/** Expects `admit` to be refused by `limit`, and returns the error. */
async function refused(attempt: Promise<unknown>, limit: string): Promise<LimitExceededError> {
  const err = await attempt.then(
    () => assert.fail(`expected ${limit} to refuse`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof LimitExceededError, `not a LimitExceededError: ${String(err)}`);
  assert.equal(err.code, status.RESOURCE_EXHAUSTED);
  assert.equal(err.limit, limit);
  return err;
}

/** Waits until the store's Redis connection is ready. */
async function untilReady(store: RedisCounterStore): Promise<void> {
  for (let i = 0; i < 200 && !store.status().healthy; i += 1) await delay(25);
  assert.ok(store.status().healthy, "redis ready");
}

interface Rig {
  readonly now: { ms: number };
  limiter(defaults: Partial<Limits>, options?: Partial<PrincipalLimiterOptions>): Promise<PrincipalLimiter>;
}

function limiterSuite(
  kind: string,
  makeStore: (clock: () => number) => Promise<CounterStore>,
  setup?: () => Promise<void>,
  // Checks after each test that the store answered by itself (the Redis store: no fallback to memory).
  answeredBy?: (store: CounterStore) => void,
) {
  describe(`PrincipalLimiter over the ${kind} store`, () => {
    const stores: CounterStore[] = [];
    const rig = (): Rig => {
      const now = { ms: T0 };
      const clock = () => now.ms;
      return {
        now,
        async limiter(defaults, options) {
          const store = await makeStore(clock);
          stores.push(store);
          return new PrincipalLimiter(store, {
            defaults: { ...NONE, ...defaults },
            turnTimeoutMs: 60_000,
            clock,
            ...options,
          });
        },
      };
    };
    if (setup) before(setup);
    afterEach(() => {
      if (answeredBy) for (const store of stores) answeredBy(store);
    });
    after(async () => {
      for (const store of stores) await store.close();
    });

    it("counts requests per minute, refuses the next one with a retry hint, and admits again next minute", async () => {
      const { now, limiter: make } = rig();
      const limiter = await make({ requests_per_minute: 3 });
      const alice = keyPrincipal();
      for (let i = 0; i < 3; i += 1) await (await limiter.admit(alice))();
      const err = await refused(limiter.admit(alice), "requests_per_minute");
      assert.equal(
        err.message,
        `requests_per_minute 3 reached for ${alice.id} (key ${alice.credentialId}); retry after 45 s`,
      );
      assert.equal(err.retryAfterMs, 45_000);
      now.ms += 44_000;
      await refused(limiter.admit(alice), "requests_per_minute");
      now.ms += 1_000;
      await (await limiter.admit(alice))();
    });

    it("refuses a turn past concurrent_turns until one is released, and a second release frees nothing", async () => {
      const limiter = await rig().limiter({ concurrent_turns: 2 });
      const bob = keyPrincipal();
      const first = await limiter.admit(bob);
      await limiter.admit(bob);
      const err = await refused(limiter.admit(bob), "concurrent_turns");
      assert.match(err.message, /^concurrent_turns 2 reached for .*; retry after 1 s$/);
      await first();
      await first();
      await limiter.admit(bob);
      await refused(limiter.admit(bob), "concurrent_turns");
    });

    it("refuses once the minute's recorded tokens reached tokens_per_minute, until the next minute", async () => {
      const { now, limiter: make } = rig();
      const limiter = await make({ tokens_per_minute: 100 });
      const carol = keyPrincipal();
      await (await limiter.admit(carol))();
      await limiter.record(carol, 60);
      await (await limiter.admit(carol))();
      await limiter.record(carol, 40);
      const err = await refused(limiter.admit(carol), "tokens_per_minute");
      assert.match(err.message, /^tokens_per_minute 100 reached for .*; retry after 45 s$/);
      now.ms += 45_000;
      await (await limiter.admit(carol))();
    });

    it("runs a turn inside the limits: records its model tokens and releases its slot, also when it fails", async () => {
      const limiter = await rig().limiter({ concurrent_turns: 1, tokens_per_minute: 10 });
      const dave = keyPrincipal();
      await assert.rejects(
        limiter.run(dave, async () => {
          throw new Error("agents down");
        }),
        /agents down/,
      );
      const answers = [
        { promptTokens: 3, completionTokens: 4 },
        { promptTokens: 50, completionTokens: 50, cached: true },
      ];
      await limiter.run(dave, async () => ({ agentAnswers: answers }));
      await limiter.run(dave, async () => ({ agentAnswers: answers }));
      await refused(
        limiter.run(dave, async () => ({})),
        "tokens_per_minute",
      );
    });

    it("a credential's own limits override the defaults; a credential's 0 keeps the default", async () => {
      const limiter = await rig().limiter({ requests_per_minute: 1, concurrent_turns: 1 });
      const generous = keyPrincipal({ requests_per_minute: 3, concurrent_turns: 0 });
      for (let i = 0; i < 3; i += 1) await (await limiter.admit(generous))();
      const err = await refused(limiter.admit(generous), "requests_per_minute");
      assert.match(err.message, /^requests_per_minute 3 /);
      const strict = keyPrincipal({ concurrent_turns: 0 });
      await limiter.admit(strict);
      await refused(limiter.admit(strict), "concurrent_turns");
    });

    it("0 means unlimited: an unlimited value is never the one that refuses", async () => {
      const limiter = await rig().limiter({
        requests_per_minute: 0,
        concurrent_turns: 0,
        tokens_per_minute: 0,
      });
      const free = keyPrincipal();
      for (let i = 0; i < 50; i += 1) await limiter.admit(free);
      await limiter.record(free, 1_000_000);
      await limiter.admit(free);
      const onlyRate = await rig().limiter({ requests_per_minute: 30 });
      const busy = keyPrincipal();
      for (let i = 0; i < 30; i += 1) await onlyRate.admit(busy);
      await refused(onlyRate.admit(busy), "requests_per_minute");
      const onlyConcurrent = await rig().limiter({ concurrent_turns: 2 });
      const chatty = keyPrincipal();
      for (let i = 0; i < 50; i += 1) await (await onlyConcurrent.admit(chatty))();
    });

    it("counts each API key on its own and every token of one principal together", async () => {
      const limiter = await rig().limiter({ requests_per_minute: 1 });
      const roles = new Set(["user"] as const);
      await limiter.admit({ id: "erin", roles, via: "key", credentialId: "erin-key-1" });
      await limiter.admit({ id: "erin", roles, via: "key", credentialId: "erin-key-2" });
      await limiter.admit({ id: `frank-${kind}`, roles, via: "token", credentialId: "jti-1" });
      const err = await refused(
        limiter.admit({ id: `frank-${kind}`, roles, via: "token", credentialId: "jti-2" }),
        "requests_per_minute",
      );
      assert.match(err.message, new RegExp(`reached for frank-${kind}; retry`));
    });
  });
}

limiterSuite("in-memory", async (clock) => new MemoryCounterStore(100, clock));

let redis: RedisServer;
limiterSuite(
  "Redis",
  async () => {
    const store = new RedisCounterStore(
      { url: redis.url, keyPrefix: "limiter-test:", commandTimeoutMs: 1000, outageLogIntervalMs: 60_000 },
      createLogger("test", "silent"),
    );
    await untilReady(store);
    return store;
  },
  async () => {
    redis = await startRedisServer();
  },
  (store) => assert.equal((store as RedisCounterStore).errors, 0, "every call was counted in Redis"),
);
after(async () => {
  await redis?.stop();
});
