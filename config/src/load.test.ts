import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { defaultAgents } from "./default-agents.js";
import { ConfigError, loadConfig, validateConfig } from "./load.js";
import { POOL_SCALING_DEFAULTS } from "./scaling.js";

const persona = { temperature: 0.5, max_tokens: 100, system_prompt: "You help." };
const SHIPPED = fileURLToPath(new URL("../chorus.yaml", import.meta.url));

function withAgent(entry: Record<string, unknown>) {
  return { agents: [{ name: "solo", ...persona, ...entry }] };
}

function scalingOf(entry: Record<string, unknown>) {
  return validateConfig(withAgent(entry), "config.yaml").agents[0]?.scaling;
}

describe("validateConfig: agent pool scaling", () => {
  it("gives every pool the chorus strategy by default, with workers as the slots per block", () => {
    assert.deepEqual(scalingOf({ workers: 3 }), { ...POOL_SCALING_DEFAULTS, workers_per_block: 3 });
    assert.equal(validateConfig({}, "(defaults)").agents[0]?.scaling.strategy, "chorus");
  });

  it("lays a scaling block over the defaults", () => {
    const scaling = scalingOf({ scaling: { strategy: "htex_auto_scale", min_blocks: 0, max_blocks: 8 } });
    assert.equal(scaling?.strategy, "htex_auto_scale");
    assert.equal(scaling?.max_blocks, 8);
    assert.equal(scaling?.strategy_period, POOL_SCALING_DEFAULTS.strategy_period);
  });

  it("reads replicas: N as a fixed pool of N blocks", () => {
    const scaling = scalingOf({ replicas: 2 });
    assert.equal(scaling?.strategy, "none");
    assert.equal(scaling?.init_blocks, 2);
    assert.equal(scaling?.min_blocks, 0);
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    [
      "min_blocks above max_blocks",
      { scaling: { min_blocks: 5, max_blocks: 2 } },
      /^config\.yaml: agents\[0\]\.scaling\.min_blocks: must not exceed max_blocks$/m,
    ],
    [
      "parallelism above 1",
      { scaling: { parallelism: 1.5 } },
      /^config\.yaml: agents\[0\]\.scaling\.parallelism: must be a number from 0 to 1$/m,
    ],
    [
      "parallelism below 0",
      { scaling: { parallelism: -0.1 } },
      /^config\.yaml: agents\[0\]\.scaling\.parallelism: /m,
    ],
    [
      "a negative strategy_period",
      { scaling: { strategy_period: -1 } },
      /^config\.yaml: agents\[0\]\.scaling\.strategy_period: must be a number of seconds > 0$/m,
    ],
    [
      "a zero strategy_period",
      { scaling: { strategy_period: 0 } },
      /^config\.yaml: agents\[0\]\.scaling\.strategy_period: /m,
    ],
    [
      "a negative max_idletime",
      { scaling: { max_idletime: -5 } },
      /^config\.yaml: agents\[0\]\.scaling\.max_idletime: must be a number of seconds >= 0$/m,
    ],
    [
      "an unknown strategy",
      { scaling: { strategy: "greedy" } },
      /^config\.yaml: agents\[0\]\.scaling\.strategy: must be one of none, simple, htex_auto_scale, chorus$/m,
    ],
    [
      "a negative block count",
      { scaling: { max_blocks: -1 } },
      /^config\.yaml: agents\[0\]\.scaling\.max_blocks: must be an integer >= 0$/m,
    ],
    [
      "an unknown key",
      { scaling: { max_block: 3 } },
      /^config\.yaml: agents\[0\]\.scaling\.max_block: unknown key$/m,
    ],
    [
      "workers_per_block, which agents[].workers already sets",
      { scaling: { workers_per_block: 2 } },
      /^config\.yaml: agents\[0\]\.scaling\.workers_per_block: set the agent's workers instead$/m,
    ],
    [
      "replicas together with scaling",
      { replicas: 2, scaling: { max_blocks: 3 } },
      /^config\.yaml: agents\[0\]\.replicas: cannot be combined with scaling/m,
    ],
    ["scaling that is not a mapping", { scaling: 3 }, /^config\.yaml: agents\[0\]\.scaling: /m],
  ];
  for (const [name, entry, message] of bad) {
    it(`refuses ${name}, naming the file and the key`, () => {
      assert.throws(
        () => validateConfig(withAgent(entry), "config.yaml"),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
      );
    });
  }

  it("names the right entry when a later agent is wrong, and lists every error", () => {
    const config = {
      agents: [
        { name: "first", ...persona },
        { name: "second", ...persona, scaling: { min_blocks: 9, parallelism: 2 } },
      ],
    };
    assert.throws(
      () => validateConfig(config, "chorus.yaml"),
      (err: unknown) =>
        err instanceof Error &&
        /chorus\.yaml: agents\[1\]\.scaling\.min_blocks/.test(err.message) &&
        /chorus\.yaml: agents\[1\]\.scaling\.parallelism/.test(err.message),
    );
  });
});

describe("provider.kubernetes", () => {
  it("refuses a renew deadline that is not shorter than the lease, naming the key", () => {
    const config = {
      provider: {
        kind: "kubernetes",
        kubernetes: { lease_duration_seconds: 10, renew_deadline_seconds: 10 },
      },
    };
    assert.throws(
      () => validateConfig(config, "chorus.yaml"),
      (err: unknown) =>
        err instanceof ConfigError &&
        /^chorus\.yaml: provider\.kubernetes\.renew_deadline_seconds: must be less than lease_duration_seconds$/m.test(
          err.message,
        ),
    );
  });

  it("refuses a retry period that is not shorter than the renew deadline, naming the key", () => {
    const config = { provider: { kubernetes: { renew_deadline_seconds: 3, retry_period_seconds: 5 } } };
    assert.throws(
      () => validateConfig(config, "chorus.yaml"),
      (err: unknown) =>
        err instanceof ConfigError &&
        /^chorus\.yaml: provider\.kubernetes\.retry_period_seconds: must be less than renew_deadline_seconds$/m.test(
          err.message,
        ),
    );
  });
});

describe("limits.heap_mb", () => {
  for (const heapMb of [32, -1, 100_000, 1.5]) {
    it(`refuses ${heapMb}, naming the key`, () => {
      assert.throws(
        () => validateConfig({ limits: { heap_mb: heapMb } }, "chorus.yaml"),
        (err: unknown) => err instanceof ConfigError && /^chorus\.yaml: limits\.heap_mb: /m.test(err.message),
      );
    });
  }

  it("accepts 0 (V8's own sizing) and a ceiling in range", () => {
    assert.equal(validateConfig({ limits: { heap_mb: 0 } }, "chorus.yaml").limits.heap_mb, 0);
    assert.equal(validateConfig({ limits: { heap_mb: 1024 } }, "chorus.yaml").limits.heap_mb, 1024);
  });
});

describe("config/chorus.yaml", () => {
  it("is valid and spells out the built-in defaults", () => {
    const shipped = loadConfig(SHIPPED, {});
    assert.deepEqual(shipped.agents, defaultAgents);
    assert.deepEqual({ ...shipped, agents: [] }, { ...validateConfig({}, "(defaults)"), agents: [] });
  });
});
