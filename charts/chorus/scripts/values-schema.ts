import { configJsonSchema, type JsonSchema } from "@chorus/config";
import { CHART_SET_KEYS, LOCAL_ONLY_KEYS } from "./chart-set-keys.js";

/** Takes `dotted` (a.b.c) out of an object schema, and any section it leaves without keys. */
function omit(schema: JsonSchema, dotted: string): void {
  const [key = "", ...rest] = dotted.split(".");
  const properties: Record<string, JsonSchema> | undefined = schema.properties;
  const child = properties?.[key];
  if (!properties || !child) throw new Error(`${dotted}: not a key of the config schema`);
  if (rest.length > 0) omit(child, rest.join("."));
  if (rest.length === 0 || Object.keys(child.properties ?? {}).length === 0) delete properties[key];
}

/**
 * The schema of the chart's `config:` values: chorus.yaml's schema (from the zod schema in
 * @chorus/config) without the keys the chart sets or only `chorus up` reads, with the agents required, as pools come from them.
 */
export function chartConfigSchema(): JsonSchema {
  const schema = configJsonSchema();
  for (const key of [...CHART_SET_KEYS, ...LOCAL_ONLY_KEYS]) omit(schema, key);
  return {
    ...schema,
    description:
      "Chorus settings with the keys of config/chorus.yaml (generated from its zod schema); addresses, ports, paths and the provider come from the chart.",
    required: ["agents"],
  };
}

/** values.schema.json with its `config` part replaced by chartConfigSchema(); the rest stays as written. */
export function withGeneratedConfig(valuesSchema: JsonSchema): JsonSchema {
  if (!valuesSchema.properties?.config) throw new Error("values.schema.json has no properties.config");
  return { ...valuesSchema, properties: { ...valuesSchema.properties, config: chartConfigSchema() } };
}
