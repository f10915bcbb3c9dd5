import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { configJsonSchema, type JsonSchema } from "@chorus/config";
import { isMap, isScalar, isSeq, parse, parseDocument } from "yaml";
import { CHART_SET_KEYS, chartSetKeyProblems, flatten, LOCAL_ONLY_KEYS } from "../scripts/chart-set-keys.js";
import { CHART_DIR, REPO_ROOT, renderChart, runTool } from "../scripts/helm.js";
import { chartConfigSchema } from "../scripts/values-schema.js";

/** The least a render needs: callers must authenticate (here with API keys from a Secret). */
const KEYS = ["--set", "auth.existingSecret=chorus-api-keys"];

/** Whether the config schema has the key `dotted` (a.b.c). */
function schemaHas(schema: JsonSchema, dotted: string): boolean {
  const [key = "", ...rest] = dotted.split(".");
  const child = schema.properties?.[key];
  return child !== undefined && (rest.length === 0 || schemaHas(child, rest.join(".")));
}

/**
 * Collects dotted paths of values.yaml keys with no comment on the line before or at the end of
 * their line. The yaml parser hangs the comment before a block's first key on the block (or, for
 * a list's first item, on the list), so that comment is passed down as `first`. Flow mappings
 * (`{ cpu: 100m }`) are documented by their key's comment.
 */
function uncommentedKeys(node: unknown, path: string, missing: string[], first?: string | null): void {
  if (isMap(node) && !node.flow) {
    const leading = node.commentBefore ?? first;
    node.items.forEach((pair, index) => {
      const key = isScalar(pair.key) ? String(pair.key.value) : "?";
      const where = path ? `${path}.${key}` : key;
      const inline = isScalar(pair.value) ? pair.value.comment : undefined;
      const before = isScalar(pair.key) ? pair.key.commentBefore : undefined;
      if (!before && !inline && !(index === 0 && leading)) missing.push(where);
      uncommentedKeys(pair.value, where, missing);
    });
  } else if (isSeq(node) && !node.flow) {
    node.items.forEach((item, index) => {
      uncommentedKeys(item, `${path}[${index}]`, missing, index === 0 ? node.commentBefore : undefined);
    });
  }
}

describe("charts/chorus", () => {
  it("passes helm lint --strict with an API keys Secret, and with Redis, a real model, OIDC or cert-manager", () => {
    const keys = ["--set", "auth.existingSecret=chorus-api-keys"];
    const variants = [
      keys,
      [...keys, "--set", "redis.enabled=true", "--set", "openai.baseUrl=https://api.openai.com/v1"],
      [...keys, "--set", "openai.existingSecret=my-openai", "--set", "redis.existingSecret=my-redis"],
      [
        "--set",
        "config.security.auth.oidc.issuer=https://id.example.com",
        "--set",
        "config.security.auth.oidc.audience=chorus",
        "--set",
        "openai.apiKey=sk-test",
        "--set",
        "networkPolicy.enabled=false",
      ],
      [...keys, "--set", "tls.source=certManager"],
      [...keys, "--set", "tls.source=existingSecrets"],
    ];
    for (const args of variants) {
      const result = runTool("helm", ["lint", "--strict", CHART_DIR, ...args]);
      assert.equal(result.code, 0, `helm lint --strict ${args.join(" ")}:\n${result.stdout}${result.stderr}`);
    }
  });

  const typos: [string, string, RegExp][] = [
    ["an unknown top-level key", "unknownKey=1", /additional properties 'unknownKey' not allowed/],
    ["a misspelt config key", "config.orchestrator.agregation=all", /\/config\/orchestrator.*'agregation'/],
    [
      "a misspelt scaling key",
      "config.agents[0].scaling.max_block=3",
      /\/config\/agents\/0\/scaling.*'max_block'/,
    ],
    ["a config key the chart sets", "config.history.path=/tmp/x.db", /\/config\/history.*'path'/],
    [
      "a certificate path (the chart mounts them)",
      "config.security.mesh.cert_file=/x.pem",
      /\/config\/security\/mesh.*'cert_file'/,
    ],
    ["an unknown certificate source", "tls.source=selfsigned", /\/tls\/source/],
    ["a misspelt resources key", "orchestrator.resources.limit.cpu=1", /\/orchestrator\/resources.*'limit'/],
    [
      "a misspelt securityContext key",
      "securityContext.readOnlyRootFs=true",
      /\/securityContext.*'readOnlyRootFs'/,
    ],
    [
      "an unknown aggregation",
      "config.orchestrator.aggregation=loudest",
      /\/config\/orchestrator\/aggregation/,
    ],
  ];
  for (const [what, set, message] of typos) {
    it(`rejects ${what} through values.schema.json (--set ${set})`, () => {
      assert.throws(() => renderChart([...KEYS, "--set", set]), message);
    });
  }

  it("rejects a pools entry that names no agent, naming the key", () => {
    assert.throws(
      () => renderChart([...KEYS, "--set", "pools.creativ.resources.limits.cpu=1"]),
      /pools\.creativ: no agent named "creativ"/,
    );
  });

  it("documents every values.yaml key with a comment", () => {
    const doc = parseDocument(readFileSync(join(CHART_DIR, "values.yaml"), "utf8"));
    const missing: string[] = [];
    uncommentedKeys(doc.contents, "", missing);
    assert.deepEqual(missing, []);
  });

  it("mirrors config/chorus.yaml in values.config: same keys and defaults, except the keys the chart sets or only chorus up reads", () => {
    const repo = flatten(parse(readFileSync(join(REPO_ROOT, "config/chorus.yaml"), "utf8")));
    const values = parse(readFileSync(join(CHART_DIR, "values.yaml"), "utf8"));
    const chart = flatten(values.config);
    const schema = configJsonSchema();
    const notValues = [...CHART_SET_KEYS, ...LOCAL_ONLY_KEYS];
    for (const key of notValues) {
      assert.ok(schemaHas(schema, key), `${key} is not a key of the config schema any more`);
      assert.ok(!chart.has(key), `values.config.${key} is not the chart's to take and must not be a value`);
    }
    for (const [key, value] of repo) {
      if (notValues.includes(key)) continue;
      assert.ok(chart.has(key), `config/chorus.yaml key ${key} is missing from values.config`);
      assert.deepEqual(chart.get(key), value, `values.config.${key} differs from config/chorus.yaml`);
    }
    assert.deepEqual(
      [...chart.keys()].filter((key) => !repo.has(key)),
      [],
      "values.config keys that config/chorus.yaml does not have",
    );
  });

  it("writes into the pods' config files the values.config keys plus exactly the keys CHART_SET_KEYS lists", () => {
    const values = parse(readFileSync(join(CHART_DIR, "values.yaml"), "utf8"));
    assert.deepEqual(chartSetKeyProblems(renderChart(KEYS), values.config), []);
  });

  it("holds in values.schema.json the config schema generated from the zod schema (npm run generate)", () => {
    const schema = JSON.parse(readFileSync(join(CHART_DIR, "values.schema.json"), "utf8"));
    assert.deepEqual(schema.properties.config, chartConfigSchema());
  });
});
