import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
// @ts-expect-error: a plain .mjs script without type declarations
import { checkTree, importsOf } from "./dependency-rules.mjs";

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A throwaway repository holding `files` (path → source). */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "dep-rules-"));
  roots.push(root);
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), source);
  }
  return root;
}

const orch = "services/orchestrator/src";
const clean = {
  [`${orch}/api/service.ts`]: `import { runTurn } from "../turn/turn.js";\nimport type { Cache } from "../cache/cache.js";`,
  [`${orch}/turn/turn.ts`]: `import { Pool } from "../executor/pool.js";\nexport const runTurn = 1;`,
  [`${orch}/executor/pool.ts`]: `import type { BlockEvent } from "../providers/block-event.js";\nexport class Pool {}`,
  [`${orch}/providers/block-event.ts`]: `import type { S } from "../scaling/pool-state.js";`,
  [`${orch}/scaling/pool-state.ts`]: "export type S = 1;",
  [`${orch}/cache/cache.ts`]: "export interface Cache {}",
  [`${orch}/main.ts`]: `import "./api/service.js";\nimport { Metrics } from "@chorus/shared";`,
};

describe("dependency rules", () => {
  it("accept a tree whose rooms import only downward", () => {
    assert.deepEqual(checkTree(tree(clean)), []);
  });

  it("reject an upward import between the orchestrator's rooms", () => {
    const root = tree({
      ...clean,
      [`${orch}/executor/pool.ts`]: `import { Fold } from "../turn/aggregation.js";`,
      [`${orch}/turn/aggregation.ts`]: "export const Fold = 1;",
    });
    const violations = checkTree(root);
    assert.equal(violations.length, 1, violations.join("\n"));
    assert.match(
      violations[0],
      /executor\/pool\.ts: imports "\.\.\/turn\/aggregation\.js": upward import: executor\/ → turn\//,
    );
  });

  it("reject a side room importing a layer, and the pure strategies importing a side room", () => {
    const root = tree({
      ...clean,
      [`${orch}/cache/cache.ts`]: `import { Pool } from "../executor/pool.js";`,
      [`${orch}/scaling/pool-state.ts`]: `import type { Cache } from "../cache/cache.js";`,
    });
    const violations = checkTree(root).join("\n");
    assert.match(violations, /side room cache\/ imports executor\//);
    assert.match(violations, /scaling\/ must stay pure/);
  });

  it("reject one provider importing another provider's room", () => {
    const root = tree({
      ...clean,
      [`${orch}/providers/local/local.ts`]: `import { x } from "../kubernetes/client.js";`,
      [`${orch}/providers/kubernetes/client.ts`]: "export const x = 1;",
    });
    assert.match(checkTree(root).join("\n"), /providers\/local\/ imports providers\/kubernetes\//);
  });

  it("reject an import cycle inside any package", () => {
    const root = tree({
      "services/agent/src/a.ts": `import { b } from "./b.js";`,
      "services/agent/src/b.ts": `export { a } from "./a.js";`,
    });
    assert.match(
      checkTree(root).join("\n"),
      /import cycle: services\/agent\/src\/a\.ts → services\/agent\/src\/b\.ts/,
    );
  });

  it("reject a service importing another service or its source, but let tests do it", () => {
    const root = tree({
      "services/agent/src/run.ts": `import { runHistory } from "@chorus/history";\nimport x from "@chorus/shared/src/ids.js";`,
      "services/agent/src/run.test.ts": `import { startSimulator } from "@chorus/llm-sim";`,
    });
    const violations = checkTree(root);
    assert.equal(violations.length, 2, violations.join("\n"));
    assert.match(violations.join("\n"), /a service imports another service/);
    assert.match(violations.join("\n"), /imports another package's source/);
  });

  it("reject production code importing test support, and allow test support to import it", () => {
    const root = tree({
      "services/history/src/store.ts": `import { fixtures } from "./testing/fixtures.js";`,
      "services/history/src/testing/fixtures.ts": `import { freePort } from "@chorus/shared/testing";\nexport const fixtures = 1;`,
      "tools/cli/src/main.ts": `const env = await import("@chorus/testenv");`,
    });
    const violations = checkTree(root).join("\n");
    assert.match(
      violations,
      /store\.ts: imports "\.\/testing\/fixtures\.js": production code imports test support/,
    );
    assert.match(violations, /main\.ts: imports "@chorus\/testenv": production code imports test support/);
    assert.doesNotMatch(violations, /fixtures\.ts/);
  });

  it("find static, type-only, re-exported and dynamic imports", () => {
    const source = `import a from "a";\nimport type { B } from "b";\nexport * from "./c.js";\nconst d = await import("d");`;
    assert.deepEqual(importsOf(source), ["a", "b", "./c.js", "d"]);
  });
});
