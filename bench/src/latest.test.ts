import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { LATEST, latestRun, pointLatest, resolveRun } from "./latest.js";

describe("the latest pointer", () => {
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "chorus-bench-latest-test-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("names the newest run, and following it gives that run's file", () => {
    const older = join(dir, "bench-1.json");
    const newer = join(dir, "bench-2.json");
    writeFileSync(older, "{}");
    writeFileSync(newer, "{}");
    pointLatest(dir, older);
    pointLatest(dir, newer);
    assert.equal(latestRun(dir), newer);
  });

  it("resolves a directory, its pointer file and a run file to the run", () => {
    const run = join(dir, "bench-1.json");
    writeFileSync(run, "{}");
    pointLatest(dir, run);
    assert.equal(resolveRun(dir), run);
    assert.equal(resolveRun(join(dir, LATEST)), run);
    assert.equal(resolveRun(run), run);
  });

  it("says which file is missing when the pointer or its run is gone", () => {
    assert.throws(() => latestRun(dir), /latest is missing/);
    writeFileSync(join(dir, LATEST), "bench-gone.json\n");
    assert.throws(() => latestRun(dir), /names bench-gone\.json, which is not in/);
    writeFileSync(join(dir, LATEST), "../elsewhere.json\n");
    assert.throws(() => latestRun(dir), /should hold a run's file name/);
  });
});
