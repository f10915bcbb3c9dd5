import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import type { Principal } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import type { Cache } from "../cache/cache.js";
import { personas, turnInput, turnRig } from "../testing/turn-rig.js";
import type { AgentDispatch } from "./agent-dispatch.js";
import { runTurn } from "./turn.js";

const only = { agents: ["creative"] };

/** A rig whose creative agent (temperature 0.8, answering after `delayMs`) has `persona` overrides. */
function creativeRig(persona: Record<string, unknown>, delayMs = 0) {
  return turnRig({
    cache: true,
    config: { agents: personas(persona) },
    agents: { creative: { delayMs } },
  });
}

describe("the response cache", () => {
  const policies: Array<[string, Record<string, unknown>, boolean]> = [
    ["auto at temperature 0.8", {}, false],
    ["auto at temperature 0", { temperature: 0 }, true],
    ["auto at temperature 0.8 with a seed", { seed: 7 }, true],
    ["always at temperature 0.8", { cache_policy: "always" }, true],
    ["never at temperature 0", { cache_policy: "never", temperature: 0 }, false],
  ];
  for (const [name, persona, cached] of policies) {
    it(`${cached ? "caches" : "does not cache"} an agent's answers with cache_policy ${name}`, async () => {
      const rig = creativeRig(persona);
      await runTurn(rig.deps, turnInput("Same question?", only));
      const again = await runTurn(rig.deps, turnInput("Same question?", only));
      assert.equal(again.cached, cached);
      assert.equal(rig.agent("creative").requests.length, cached ? 1 : 2);
    });
  }

  it("answers identical requests in flight with one generation, each joining it as a coalesced answer", async () => {
    const rig = creativeRig({ cache_policy: "always" }, 100);
    const responses = await Promise.all(
      Array.from({ length: 6 }, () => runTurn(rig.deps, turnInput("Popular question?", only))),
    );
    assert.equal(rig.agent("creative").requests.length, 1);
    const answers = responses.map((r) => r.agentAnswers?.[0]);
    assert.ok(answers.every((a) => a?.ok && a.text === rig.agent("creative").answerTo("Popular question?")));
    assert.deepEqual(answers.map((a) => a?.replica).sort(), [
      "coalesced",
      "coalesced",
      "coalesced",
      "coalesced",
      "coalesced",
      "creative-0",
    ]);
    assert.equal(answers.filter((a) => a?.cached).length, 5);
    assert.equal(rig.deps.answers.size, 0, "nothing left in flight");
    const again = await runTurn(rig.deps, turnInput("Popular question?", only));
    assert.equal(again.agentAnswers?.[0]?.replica, "cache");
  });

  it("gives each identical request in flight its own generation when the agent samples", async () => {
    const rig = creativeRig({}, 100);
    await Promise.all(
      Array.from({ length: 4 }, () => runTurn(rig.deps, turnInput("Popular question?", only))),
    );
    assert.equal(rig.agent("creative").requests.length, 4);
  });

  it("coalesces only one principal's requests, unless the agent's cache_scope is shared", async () => {
    const bob: Principal = { id: "bob", roles: new Set(["user"]), via: "key" };
    for (const [scope, generations] of [
      ["principal", 2],
      ["shared", 1],
    ] as const) {
      const rig = creativeRig({ cache_policy: "always", cache_scope: scope }, 100);
      await Promise.all([
        runTurn(rig.deps, turnInput("Whose?", only)),
        runTurn(rig.deps, turnInput("Whose?", { ...only, principal: bob })),
      ]);
      assert.equal(rig.agent("creative").requests.length, generations, scope);
    }
  });

  it("never answers a changed persona from the old one's cached answer", async () => {
    const before = creativeRig({ cache_policy: "always" });
    await runTurn(before.deps, turnInput("Persona?", only));
    const changes: Array<Record<string, unknown>> = [
      { system_prompt: "You are a terse assistant." },
      { max_tokens: 64 },
      { temperature: 0.2 },
      { seed: 1 },
      { model: "another-model" },
    ];
    for (const change of changes) {
      const after = creativeRig({ cache_policy: "always", ...change });
      const response = await runTurn(
        { ...after.deps, cache: before.deps.cache },
        turnInput("Persona?", only),
      );
      assert.equal(response.cached, false, JSON.stringify(change));
      assert.equal(after.agent("creative").requests.length, 1, JSON.stringify(change));
    }
    const same = creativeRig({ cache_policy: "always" });
    const response = await runTurn({ ...same.deps, cache: before.deps.cache }, turnInput("Persona?", only));
    assert.equal(response.cached, true, "the unchanged persona still hits");
  });

  it("keeps a generation running for the others when its first request leaves, and stops it once none waits", async () => {
    const rig = creativeRig({ cache_policy: "always" }, 150);
    const firstLeaves = new AbortController();
    const first = runTurn(rig.deps, turnInput("Leaving?", { ...only, signal: firstLeaves.signal }));
    await delay(20);
    const second = runTurn(rig.deps, turnInput("Leaving?", only));
    await delay(20);
    firstLeaves.abort();
    await assert.rejects(first);
    const answer = (await second).agentAnswers?.[0];
    assert.deepEqual([answer?.ok, answer?.replica, rig.agent("creative").stopped], [true, "coalesced", 0]);

    const all = [new AbortController(), new AbortController()];
    const both = all.map((c) => runTurn(rig.deps, turnInput("Nobody waits?", { ...only, signal: c.signal })));
    await delay(20);
    for (const c of all) c.abort();
    await Promise.allSettled(both);
    await delay(10);
    assert.deepEqual([rig.agent("creative").stopped, rig.deps.answers.size], [1, 0]);
  });

  it("streams to a request that joins a generation the text so far at once, then the rest as it comes", async () => {
    const rig = creativeRig({ cache_policy: "always" });
    let generations = 0;
    const pool: AgentDispatch = {
      name: "creative",
      agent: rig.config.agents[0] ?? assert.fail("no agent"),
      async run(request) {
        generations += 1;
        request.onDelta?.("Hello, ");
        await delay(100);
        request.onDelta?.("world.");
        const result = { ok: true, text: "Hello, world.", error: "", code: status.OK, attempts: 1 };
        return { ...result, replica: "creative-0", promptTokens: 1, completionTokens: 2 };
      },
    };
    const deps = { ...rig.deps, pools: new Map([["creative", pool]]) };
    const deltas: string[][] = [[], []];
    await Promise.all(
      deltas.map(async (got, i) => {
        await delay(i * 30);
        const onEvent = (e: { event?: { case?: string; value?: unknown } }) => {
          if (e.event?.case === "delta") got.push((e.event.value as { text: string }).text);
        };
        return runTurn(deps, turnInput("Streamed?", { ...only, onEvent }));
      }),
    );
    assert.equal(generations, 1);
    assert.deepEqual(deltas, [
      ["Hello, ", "world."],
      ["Hello, ", "world."],
    ]);
  });

  it("lets a request that comes while the answer is being stored in the cache join it, not generate again", async () => {
    const rig = creativeRig({ cache_policy: "always" }, 50);
    const cache = rig.deps.cache ?? assert.fail("no cache");
    const slowSet: Cache = {
      get: (key) => cache.get(key),
      set: async (key, answer) => {
        await delay(150);
        await cache.set(key, answer);
      },
      status: () => cache.status(),
      close: () => cache.close(),
    };
    const deps = { ...rig.deps, cache: slowSet };
    await runTurn(deps, turnInput("Being stored?", only));
    const meanwhile = await runTurn(deps, turnInput("Being stored?", only));
    assert.equal(meanwhile.agentAnswers?.[0]?.replica, "coalesced");
    assert.equal(rig.agent("creative").requests.length, 1);
  });
});
