import { type ChorusConfig, defaultAgents, validateConfig } from "@chorus/config";
import { Aggregation } from "@chorus/proto";
import { createLogger, LOCAL_PRINCIPAL } from "@chorus/shared";
import { Registry } from "prom-client";
import { LruCache } from "../cache/lru-cache.js";
import { Recorder } from "../telemetry/recorder.js";
import { InFlightAnswers } from "../turn/in-flight-answers.js";
import { InFlightTurns } from "../turn/in-flight-turns.js";
import type { TurnDeps, TurnInput } from "../turn/turn-types.js";
import { Concurrency, type FakeBehaviour, FakeDispatch } from "./fake-dispatch.js";
import { FakeHistory } from "./fake-history.js";

/** What a turn rig is built from: config overrides, per-agent behaviour, and whether to cache. */
export interface TurnRigOptions {
  readonly config?: Record<string, unknown>;
  readonly agents?: Readonly<Record<string, FakeBehaviour>>;
  readonly cache?: boolean;
}

/** TurnDeps over fake agents (the default three personas) and a fake history, plus the fakes. */
export interface TurnRig {
  readonly deps: TurnDeps;
  readonly config: ChorusConfig;
  readonly agents: ReadonlyMap<string, FakeDispatch>;
  readonly history: FakeHistory;
  readonly recorder: Recorder;
  /** Where the recorder's Prometheus metrics are registered. */
  readonly registry: Registry;
  readonly concurrency: Concurrency;
  /** The fake of `name`, failing the test's types if there is none. */
  agent(name: string): FakeDispatch;
}

/** Builds a turn rig; every fake agent shares one concurrency counter. */
export function turnRig(options: TurnRigOptions = {}): TurnRig {
  const config = validateConfig({ cache: { enabled: options.cache ?? false }, ...options.config }, "(test)");
  const concurrency = new Concurrency();
  const agents = new Map(
    config.agents.map((agent) => [
      agent.name,
      new FakeDispatch(agent, { concurrency, ...options.agents?.[agent.name] }),
    ]),
  );
  const history = new FakeHistory();
  const registry = new Registry();
  const recorder = new Recorder(registry, { windowMs: 60_000 });
  const deps: TurnDeps = {
    config,
    pools: agents,
    history,
    cache: config.cache.enabled ? new LruCache(config.cache.max_entries, 60_000) : undefined,
    recorder,
    log: createLogger("turn-test", "silent"),
    turns: new InFlightTurns(),
    answers: new InFlightAnswers(),
  };
  const agent = (name: string) => {
    const found = agents.get(name);
    if (!found) throw new Error(`no fake agent "${name}"`);
    return found;
  };
  return { deps, config, agents, history, recorder, registry, concurrency, agent };
}

/** The seed's three personas as config entries, each with `overrides` (e.g. a cache_policy). */
export function personas(overrides: Record<string, unknown> = {}): Record<string, unknown>[] {
  return defaultAgents.map(({ scaling: _, ...agent }) => ({ ...agent, ...overrides }));
}

/** A turn input for every configured agent (or `agents`), with a ten-second deadline. */
export function turnInput(message: string, overrides: Partial<TurnInput> = {}): TurnInput {
  return {
    conversationId: "",
    message,
    turnId: "",
    aggregation: Aggregation.PRIORITY,
    agents: ["creative", "analytical", "balanced"],
    deadline: new Date(Date.now() + 10_000),
    signal: new AbortController().signal,
    requestId: "test",
    principal: LOCAL_PRINCIPAL,
    useContext: true,
    ...overrides,
  };
}
