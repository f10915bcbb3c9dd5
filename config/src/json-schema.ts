import { z } from "zod";
import { configSchema } from "./schema.js";

/** A JSON Schema (draft-07) object, as plain data. */
// biome-ignore lint/suspicious/noExplicitAny: JSON Schema is an open tree of keywords.
export type JsonSchema = Record<string, any>;

/**
 * Drops what zod adds that says nothing to a reader: the safe-integer bounds of `.int()` and the
 * `{}` default of each section, and writes `exclusiveMinimum: 0` on an integer as `minimum: 1`.
 */
function tidy(schema: JsonSchema): void {
  if (schema.maximum === Number.MAX_SAFE_INTEGER) delete schema.maximum;
  if (schema.minimum === Number.MIN_SAFE_INTEGER) delete schema.minimum;
  if (schema.type === "integer" && schema.exclusiveMinimum === 0) {
    delete schema.exclusiveMinimum;
    schema.minimum = 1;
  }
  if (schema.type === "object" && JSON.stringify(schema.default) === "{}") delete schema.default;
}

/** The order keywords are written in; others follow them. */
const ORDER = [
  "description",
  "type",
  "enum",
  "const",
  "default",
  "minimum",
  "exclusiveMinimum",
  "maximum",
  "minLength",
  "pattern",
  "format",
  "minItems",
  "additionalProperties",
  "properties",
  "items",
  "required",
  "not",
];

/** The same schema with each object's keywords in ORDER, so the generated file reads alike throughout. */
function ordered(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(ordered);
  if (schema === null || typeof schema !== "object") return schema;
  const rank = (key: string) => (ORDER.includes(key) ? ORDER.indexOf(key) : ORDER.length);
  const keys = Object.keys(schema).sort((a, b) => rank(a) - rank(b));
  // `properties` maps key names to schemas: its own order is the config's and stays.
  return Object.fromEntries(
    keys.map((key) => {
      const value = (schema as JsonSchema)[key];
      if (key !== "properties") return [key, ordered(value)];
      return [key, Object.fromEntries(Object.entries(value).map(([k, v]) => [k, ordered(v)]))];
    }),
  );
}

/**
 * chorus.yaml's schema as JSON Schema draft-07, for what a user may write (`io: "input"`: keys
 * with defaults are optional and carry them), with each key's description.
 */
export function configJsonSchema(): JsonSchema {
  const { $schema: _, ...schema } = z.toJSONSchema(configSchema, {
    io: "input",
    target: "draft-07",
    override: (ctx) => tidy(ctx.jsonSchema),
  });
  return ordered(schema) as JsonSchema;
}
