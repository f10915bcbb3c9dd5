import { defaultAgents } from "./default-agents.js";
import { documentedYaml } from "./documented-yaml.js";
import { configJsonSchema } from "./json-schema.js";
import { configSchema } from "./schema.js";

/** Where the shipped config file lives, relative to the repository root. */
export const CHORUS_YAML = "config/chorus.yaml";

/** The seed's personas as a user writes them: scaling without the slots `workers` already sets. */
function agentEntries() {
  return defaultAgents.map(
    ({ scaling: { workers_per_block: _, ...scaling }, system_prompt, ...persona }) => ({
      name: persona.name,
      model: persona.model,
      temperature: persona.temperature,
      max_tokens: persona.max_tokens,
      workers: persona.workers,
      scaling,
      system_prompt,
    }),
  );
}

/**
 * config/chorus.yaml: every key with its default and its description, both taken from the zod
 * schema (and the seed's personas from default-agents.ts), so they are written once.
 */
export function renderChorusYaml(): string {
  const schema = configJsonSchema();
  const defaults = { ...configSchema.parse({}), agents: agentEntries() };
  return documentedYaml(defaults, schema, {
    header: [
      schema.description,
      "Secrets never go here: OPENAI_API_KEY comes from the environment.",
      "Generated from the zod schema in config/src by `npm run generate`: edit the schema, not this file.",
    ],
  });
}
