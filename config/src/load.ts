import { readFileSync } from "node:fs";
import { parse } from "yaml";
import type { z } from "zod";
import { defaultAgents } from "./default-agents.js";
import { issueLines } from "./issues.js";
import { resolvePoolScaling } from "./pool-scaling.js";
import { type AgentConfig, type ChorusConfig, configSchema } from "./schema.js";

/** A configuration error that names the file and the key. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

function describe(source: string, issues: readonly z.core.$ZodIssue[]): string {
  return issueLines("", issues)
    .map((line) => `${source}: ${line}`)
    .join("\n");
}

/** Validates a parsed config object; throws ConfigError naming `source` and each bad key. */
export function validateConfig(raw: unknown, source: string): ChorusConfig {
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError(describe(source, parsed.error.issues));
  const config = {
    ...parsed.data,
    agents: parsed.data.agents
      ? resolveAgents(parsed.data.agents, source)
      : defaultAgents.map((a) => ({ ...a })),
  };
  const names = new Set<string>();
  for (const [index, agent] of config.agents.entries()) {
    if (names.has(agent.name))
      throw new ConfigError(`${source}: agents[${index}].name: duplicate agent "${agent.name}"`);
    names.add(agent.name);
  }
  if (config.orchestrator.aggregation === "judge" && !names.has(config.orchestrator.judge_agent)) {
    throw new ConfigError(
      `${source}: orchestrator.judge_agent: no agent named "${config.orchestrator.judge_agent}"`,
    );
  }
  return config;
}

type AgentInput = NonNullable<z.infer<typeof configSchema>["agents"]>[number];

function resolveAgents(agents: readonly AgentInput[], source: string): AgentConfig[] {
  const errors: string[] = [];
  const resolved = agents.map(({ replicas, scaling, ...persona }, index) => {
    const result = resolvePoolScaling({ workers: persona.workers, replicas, scaling }, `agents[${index}]`);
    if (!result.ok) {
      errors.push(...result.errors);
      return undefined;
    }
    return { ...persona, scaling: result.settings };
  });
  if (errors.length > 0) throw new ConfigError(errors.map((error) => `${source}: ${error}`).join("\n"));
  return resolved.filter((agent) => agent !== undefined);
}

/** Applies the environment overrides users expect (REDIS_URL, OPENAI_BASE_URL). */
export function applyEnvironment(config: ChorusConfig, env: NodeJS.ProcessEnv = process.env): ChorusConfig {
  return {
    ...config,
    redis: { ...config.redis, url: env.REDIS_URL ?? config.redis.url },
    llm: { ...config.llm, base_url: env.OPENAI_BASE_URL ?? config.llm.base_url },
  };
}

/** Reads, parses and validates a YAML config file, then applies environment overrides. */
export function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): ChorusConfig {
  if (path === undefined) return applyEnvironment(validateConfig({}, "(defaults)"), env);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`${path}: cannot read: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new ConfigError(`${path}: invalid YAML: ${(err as Error).message}`);
  }
  return applyEnvironment(validateConfig(raw, path), env);
}

/** Loads config like loadConfig, but prints the error (file and key) and exits with 2 when it is invalid. */
export function loadConfigOrExit(path: string | undefined): ChorusConfig {
  try {
    return loadConfig(path);
  } catch (err) {
    process.stderr.write(`chorus: ${(err as Error).message}\n`);
    process.exit(2);
  }
}
