import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { validateConfig } from "@chorus/config";
import { databaseUrl, redactedUrl } from "./database-url.js";

describe("databaseUrl", () => {
  const dir = mkdtempSync(join(tmpdir(), "chorus-database-url-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "url");
  writeFileSync(file, "postgres://from-file/db\n");
  const postgres = (url_file = "") =>
    validateConfig({ history: { backend: "postgres", postgres: { url_file } } }, "(test)").history.postgres;

  const cases: Array<[string, string, NodeJS.ProcessEnv, string]> = [
    [
      "CHORUS_HISTORY_DATABASE_URL first",
      file,
      { CHORUS_HISTORY_DATABASE_URL: "postgres://own/db", DATABASE_URL: "postgres://generic/db" },
      "postgres://own/db",
    ],
    [
      "then the url_file, trimmed",
      file,
      { DATABASE_URL: "postgres://generic/db" },
      "postgres://from-file/db",
    ],
    ["then DATABASE_URL", "", { DATABASE_URL: "postgres://generic/db" }, "postgres://generic/db"],
  ];
  for (const [name, urlFile, env, expected] of cases) {
    it(`reads ${name}`, () => {
      assert.equal(databaseUrl(postgres(urlFile), env), expected);
    });
  }

  it("names every place it looked when none holds a URL", () => {
    assert.throws(
      () => databaseUrl(postgres(), {}),
      /set CHORUS_HISTORY_DATABASE_URL \(or DATABASE_URL\), or history\.postgres\.url_file/,
    );
    assert.throws(
      () => databaseUrl(postgres(join(dir, "missing")), {}),
      /history\.postgres\.url_file: cannot read/,
    );
  });

  it("refuses a URL written into the YAML, naming the key", () => {
    assert.throws(
      () => validateConfig({ history: { postgres: { url: "postgres://u:secret@h/db" } } }, "chorus.yaml"),
      /chorus\.yaml: history\.postgres.*url/,
    );
  });

  it("logs a URL without its password", () => {
    assert.equal(
      redactedUrl("postgres://chorus:s3cret@db:5432/chorus?sslmode=require"),
      "postgres://chorus:***@db:5432/chorus",
    );
    assert.doesNotMatch(redactedUrl("not a url s3cret"), /s3cret/);
  });
});
