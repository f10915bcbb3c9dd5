import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { renderChorusYaml } from "./chorus-yaml.js";
import { configJsonSchema, type JsonSchema } from "./json-schema.js";

/** Dotted paths of every key in the schema (list items as `[]`) that has no description. */
function undescribed(schema: JsonSchema, path = ""): string[] {
  const own = path && !schema.description ? [path] : [];
  const items = schema.items ? undescribed({ ...schema.items, description: "-" }, `${path}[]`) : [];
  const children = Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>).flatMap(
    ([key, child]) => undescribed(child, path ? `${path}.${key}` : key),
  );
  return [...own, ...items, ...children];
}

describe("config/chorus.yaml", () => {
  it("is what `npm run generate` writes from the schema (regenerate after editing the schema)", () => {
    const shipped = readFileSync(new URL("../chorus.yaml", import.meta.url), "utf8");
    assert.equal(shipped, renderChorusYaml());
  });

  it("has a description for every key of the schema, so every key in the file gets a comment", () => {
    assert.deepEqual(undescribed(configJsonSchema()), []);
  });
});
