import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Decision, StrategyMemory } from "./decision.js";
import { type ParityScenario, randomScenario, seededRandom } from "./parity-scenarios.js";
import type { PoolBlock, PoolState } from "./pool-state.js";
import type { ScalingSettings } from "./settings.js";
import { decide } from "./strategy.js";

const ORACLE_DIR = fileURLToPath(new URL("../../../../tools/parsl-oracle/", import.meta.url));
const PARSL_STRATEGIES = ["none", "simple", "htex_auto_scale"] as const;
const SCENARIOS = 1500;

type Action = { kind: "scale_out"; blocks: number } | { kind: "scale_in"; blocks: number; victims: string[] };

interface OracleOutput {
  parsl_version: string;
  results: Action[][][];
}

function toOracleScenario(scenario: ParityScenario, strategy: string) {
  return {
    settings: { ...scenario.settings, strategy },
    memory: { first: scenario.memory.firstPoll, idle_since: scenario.memory.idleSince },
    next_block_id: scenario.nextBlockId,
    polls: scenario.polls.map(({ now, state }) => ({
      now,
      tasks: state.tasks,
      bad_state: state.badState ?? false,
      blocks: state.blocks.map((block) => ({
        id: block.id,
        state: block.state,
        registered: block.registered,
        tasks_in_flight: block.tasksInFlight,
        idle_seconds: block.idleSeconds,
      })),
    })),
  };
}

function toAction(decision: Decision): Action | undefined {
  if (decision.kind === "scale_out") return { kind: "scale_out", blocks: decision.blocks };
  if (decision.kind === "scale_in")
    return { kind: "scale_in", blocks: decision.blocks, victims: [...decision.victims] };
  return undefined;
}

// Launch what a scale-out asks for the way Parsl's facade does: PENDING blocks named by its counter.
function launch(state: PoolState, blocks: number, firstId: number): PoolState {
  const launched: PoolBlock[] = Array.from({ length: blocks }, (_, i) => ({
    id: String(firstId + i),
    state: "PENDING",
    registered: false,
    tasksInFlight: 0,
    idleSeconds: 0,
  }));
  return { ...state, blocks: [...state.blocks, ...launched] };
}

function runOurs(scenario: ParityScenario, settings: ScalingSettings): Action[][] {
  let memory: StrategyMemory = scenario.memory;
  let nextBlockId = scenario.nextBlockId;
  return scenario.polls.map(({ now, state }) => {
    const actions: Action[] = [];
    let result = decide(state, settings, memory, now);
    let current = state;
    for (;;) {
      const action = toAction(result.decision);
      if (action) actions.push(action);
      memory = result.memory;
      if (!result.pollAgain) break;
      assert.equal(result.decision.kind, "scale_out", "pollAgain follows only the init scale-out");
      const blocks = result.decision.kind === "scale_out" ? result.decision.blocks : 0;
      current = launch(current, blocks, nextBlockId);
      nextBlockId += blocks;
      result = decide(current, settings, memory, now);
      assert.equal(result.pollAgain, false, "a poll continues at most once");
    }
    return actions;
  });
}

// Parsl calls scale_out_facade(init_blocks) even when init_blocks is 0: a call that launches nothing.
// Its max_idletime argument is already reflected in which victims were chosen.
function normalizeParsl(actions: (Action & { max_idletime?: number | null })[]): Action[] {
  return actions
    .filter((action) => !(action.kind === "scale_out" && action.blocks === 0))
    .map(({ max_idletime: _, ...action }) => action);
}

function runOracle(scenarios: object[]): OracleOutput {
  const python = execFileSync("bash", [`${ORACLE_DIR}ensure-venv.sh`], {
    encoding: "utf8",
    timeout: 10 * 60_000,
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
  const output = execFileSync(python, [`${ORACLE_DIR}oracle.py`], {
    input: JSON.stringify({ scenarios }),
    encoding: "utf8",
    timeout: 5 * 60_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return JSON.parse(output) as OracleOutput;
}

describe("parity with Parsl's own strategy code", () => {
  it("decides exactly as Parsl for every random pool state and poll sequence", {
    timeout: 15 * 60_000,
  }, () => {
    const random = seededRandom(20_251_026);
    const scenarios = Array.from({ length: SCENARIOS }, () => randomScenario(random));
    const runs = PARSL_STRATEGIES.flatMap((strategy) =>
      scenarios.map((scenario) => ({ strategy, scenario })),
    );
    const oracle = runOracle(runs.map(({ strategy, scenario }) => toOracleScenario(scenario, strategy)));
    assert.equal(oracle.results.length, runs.length);

    let compared = 0;
    const byKind = { scale_out: 0, scale_in: 0, none: 0 };
    const quirks = { zeroCountTakesAll: 0, initBlocksScaledIn: 0 };
    runs.forEach(({ strategy, scenario }, index) => {
      const ours = runOurs(scenario, { ...scenario.settings, strategy });
      const theirs = (oracle.results[index] ?? []).map(normalizeParsl);
      for (let pollIndex = 0; pollIndex < scenario.polls.length; pollIndex++) {
        compared++;
        const expected = theirs[pollIndex];
        const actual = ours[pollIndex];
        for (const action of expected ?? []) byKind[action.kind]++;
        if (expected?.length === 0) byKind.none++;
        for (const action of expected ?? []) {
          if (action.kind === "scale_in" && action.victims.length > action.blocks) quirks.zeroCountTakesAll++;
          if (action.kind === "scale_in" && action.victims.some((id) => Number(id) >= scenario.nextBlockId)) {
            quirks.initBlocksScaledIn++;
          }
        }
        if (JSON.stringify(actual) !== JSON.stringify(expected)) {
          assert.fail(
            `first mismatch (${strategy}, scenario ${index}, poll ${pollIndex}, Parsl ${oracle.parsl_version}):\n` +
              `ours:  ${JSON.stringify(actual)}\nParsl: ${JSON.stringify(expected)}\n` +
              `scenario: ${JSON.stringify({ ...scenario, strategy }, null, 1)}`,
          );
        }
      }
    });
    assert.ok(compared >= 1000, `only ${compared} polls compared`);
    // The random states must exercise every branch, or a broken generator could pass vacuously.
    assert.ok(byKind.scale_out > 100 && byKind.scale_in > 100 && byKind.none > 100, JSON.stringify(byKind));
    assert.ok(quirks.zeroCountTakesAll > 0 && quirks.initBlocksScaledIn > 0, JSON.stringify(quirks));
    const pinned = /^PARSL_VERSION=(\S+)$/m.exec(readFileSync(`${ORACLE_DIR}ensure-venv.sh`, "utf8"))?.[1];
    assert.equal(oracle.parsl_version, pinned, "the oracle must run the pinned Parsl");
    console.log(
      `compared ${compared} polls with Parsl ${pinned}: ${JSON.stringify({ ...byKind, ...quirks })}`,
    );
  });
});
