import { POOL_SCALING_DEFAULTS } from "./scaling.js";
import type { AgentConfig } from "./schema.js";

const WORKERS = 4;
const scaling = { ...POOL_SCALING_DEFAULTS, workers_per_block: WORKERS };
const hedge = { enabled: false, min_delay_ms: 20 };

/** The seed workflow's three personas, used when config names no agents. */
export const defaultAgents: readonly AgentConfig[] = [
  {
    name: "creative",
    model: "gpt-3.5-turbo",
    temperature: 0.8,
    max_tokens: 1500,
    system_prompt:
      "You are a creative assistant. Answer with imagination: vivid examples, analogies and unexpected angles, while staying accurate.",
    workers: WORKERS,
    cache_scope: "principal",
    cache_policy: "auto",
    scaling,
    hedge,
  },
  {
    name: "analytical",
    model: "gpt-3.5-turbo",
    temperature: 0.3,
    max_tokens: 1200,
    system_prompt:
      "You are an analytical assistant. Answer precisely: break the question down, reason step by step and state assumptions.",
    workers: WORKERS,
    cache_scope: "principal",
    cache_policy: "auto",
    scaling,
    hedge,
  },
  {
    name: "balanced",
    model: "gpt-3.5-turbo",
    temperature: 0.7,
    max_tokens: 1000,
    system_prompt:
      "You are a balanced assistant. Give a clear, helpful answer that weighs practical and conceptual sides evenly.",
    workers: WORKERS,
    cache_scope: "principal",
    cache_policy: "auto",
    scaling,
    hedge,
  },
];
