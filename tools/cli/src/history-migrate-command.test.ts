import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { openPostgresStore, openSqliteStore } from "@chorus/history";
import { type PostgresServer, sampleTurn, startPostgresServer } from "@chorus/history/testing";
import { TurnSchema } from "@chorus/proto";
import { historyMigrateCommand, type Output } from "./history-migrate-command.js";

/** An Output that keeps what the command writes. */
function captured(): Output & { stdout: string; stderr: string } {
  const seen = { stdout: "", stderr: "" };
  return Object.assign(seen, {
    out: (text: string) => {
      seen.stdout += text;
    },
    err: (text: string) => {
      seen.stderr += text;
    },
  });
}

describe("chorus history migrate", () => {
  let dir: string;
  let server: PostgresServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "chorus-cli-migrate-"));
    server = await startPostgresServer();
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("copies a SQLite file into PostgreSQL, reports the counts, and copies nothing twice", async () => {
    const path = join(dir, "chorus.db");
    const sqlite = openSqliteStore(path);
    const local = { owner: "local", admin: false };
    for (const [turnId, conversationId] of [
      ["t1", "c1"],
      ["t2", "c1"],
      ["t3", "c2"],
    ] as const) {
      await sqlite.appendTurn(local, create(TurnSchema, sampleTurn(turnId, conversationId)), true);
    }
    sqlite.close();
    // Trust authentication ignores the password; it is here to be kept out of the output.
    const url = (await server.createDatabase()).replace("chorus@", "chorus:hunter2@");

    const first = captured();
    assert.equal(await historyMigrateCommand(path, url, {}, first), 0, first.stderr);
    assert.match(first.stdout, /conversations\s+2 copied, 0 already there/);
    assert.match(first.stdout, /turns\s+3 copied, 0 already there/);
    assert.match(first.stdout, /agent answers\s+9 copied, 0 already there/);
    assert.match(first.stdout, /chorus:\*\*\*@127\.0\.0\.1/);
    // The URL from the environment, as the usage suggests for real passwords.
    const second = captured();
    assert.equal(
      await historyMigrateCommand(path, undefined, { DATABASE_URL: url }, second),
      0,
      second.stderr,
    );
    assert.match(second.stdout, /turns\s+0 copied, 3 already there/);
    assert.doesNotMatch(first.stdout + second.stdout, /hunter2/);

    const postgres = await openPostgresStore(url);
    assert.deepEqual(
      (await postgres.getConversation(local, "c1", 0))?.turns.map((t) => t.turnId),
      ["t1", "t2"],
    );
    await postgres.close();
  });

  const usage: Array<[string, string | undefined, string | undefined, RegExp]> = [
    ["without --from", undefined, "postgres://db/x", /--from is required/],
    [
      "without --to or a URL in the environment",
      "chorus.db",
      undefined,
      /set CHORUS_HISTORY_DATABASE_URL or DATABASE_URL/,
    ],
  ];
  for (const [name, from, to, message] of usage) {
    it(`exits 2 with the usage ${name}`, async () => {
      const output = captured();
      assert.equal(await historyMigrateCommand(from, to, {}, output), 2);
      assert.match(output.stderr, message);
      assert.match(output.stderr, /usage: chorus history migrate --from SQLITE_FILE/);
    });
  }

  it("exits 1 naming the problem when the SQLite file does not exist", async () => {
    const output = captured();
    assert.equal(
      await historyMigrateCommand(join(dir, "missing.db"), await server.createDatabase(), {}, output),
      1,
    );
    assert.match(output.stderr, /chorus history migrate: .*(unable to open|does not exist)/i);
  });
});
