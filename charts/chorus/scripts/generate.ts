// Writes what is generated from the chart and the config schema (`npm run generate`; CI fails when
// it is stale): the `config` part of values.schema.json from @chorus/config's zod schema, then k8s/
// from `helm template`. Stops, listing them, when the templates and CHART_SET_KEYS disagree.
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { chartSetKeyProblems } from "./chart-set-keys.js";
import { CHART_DIR, helmTemplate, K8S_DIR, parseManifests } from "./helm.js";
import { TWIN_TEMPLATE_ARGS, twinFiles } from "./k8s-twin.js";
import { withGeneratedConfig } from "./values-schema.js";

const schemaPath = join(CHART_DIR, "values.schema.json");
const schema = withGeneratedConfig(JSON.parse(readFileSync(schemaPath, "utf8")));
writeFileSync(schemaPath, `${JSON.stringify(schema, null, 2)}\n`);

const rendered = helmTemplate(TWIN_TEMPLATE_ARGS);
const values = parse(readFileSync(join(CHART_DIR, "values.yaml"), "utf8"));
const problems = chartSetKeyProblems(parseManifests(rendered), values.config);
if (problems.length > 0) {
  for (const problem of problems) console.error(`charts/chorus: ${problem}`);
  console.error("charts/chorus/scripts/chart-set-keys.ts: CHART_SET_KEYS and templates/_config.tpl disagree");
  process.exit(1);
}

const files = twinFiles(rendered);
for (const stale of readdirSync(K8S_DIR).filter((name) => !files.has(name))) rmSync(join(K8S_DIR, stale));
for (const [name, text] of files) writeFileSync(join(K8S_DIR, name), text);
