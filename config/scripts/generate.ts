// Writes config/chorus.yaml from the zod schema (`npm run generate`; CI fails when it is stale).
import { writeFileSync } from "node:fs";
import { renderChorusYaml } from "../src/chorus-yaml.js";

writeFileSync(new URL("../chorus.yaml", import.meta.url), renderChorusYaml());
