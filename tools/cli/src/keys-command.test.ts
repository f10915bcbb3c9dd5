import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { hashSecret, parseApiKey, parseKeysFile } from "@chorus/orchestrator/keys";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

function chorus(...args: string[]) {
  const run = spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], {
    encoding: "utf8",
    timeout: 30_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("chorus keys create", () => {
  it("prints the key once on stdout, then the entry that lets exactly that key in once appended under keys:", () => {
    const before = Date.now();
    const run = chorus(
      "keys",
      "create",
      "--principal",
      "alice",
      "--roles",
      "user,operator",
      "--expires",
      "30d",
      "--rpm",
      "60",
      "--concurrent",
      "2",
    );
    assert.equal(run.code, 0, run.stderr);
    const [key = "", blank, ...entry] = run.stdout.trimEnd().split("\n");
    assert.equal(blank, "");
    const parts = parseApiKey(key) ?? assert.fail(`not a key: ${key}`);
    const stored =
      parseKeysFile(`keys:\n${entry.join("\n")}\n`, "keys.yaml").get(parts.id) ??
      assert.fail("no entry for the key's id");
    assert.equal(stored.hash, hashSecret(parts.secret));
    assert.equal(stored.principal, "alice");
    assert.deepEqual(stored.roles, ["user", "operator"]);
    assert.deepEqual(stored.limits, { requests_per_minute: 60, concurrent_turns: 2 });
    const thirtyDays = 30 * 86_400_000;
    assert.ok(
      (stored.expiresMs ?? 0) >= before + thirtyDays && (stored.expiresMs ?? 0) <= Date.now() + thirtyDays,
    );
    assert.equal(run.stdout.split(parts.secret).length, 2, "the secret appears once, in the key");
    assert.ok(!run.stderr.includes(parts.secret), "stderr holds the secret");
    assert.match(run.stderr, /shown only this once/);
    assert.match(run.stderr, /append them under `keys:` in the API keys file/);
  });

  const refusals: [string[], RegExp][] = [
    [["--roles", "user"], /--principal: name whom the key stands for/],
    [["--principal", "bob", "--roles", "user,root"], /--roles: "root" is not one of user, operator, admin/],
    [
      ["--principal", "bob", "--roles", "user", "--expires", "2001-01-01T00:00:00Z"],
      /--expires: 2001-01-01T00:00:00.000Z is not in the future/,
    ],
    [
      ["--principal", "bob", "--roles", "user", "--expires", "soon"],
      /--expires: "soon" is neither a duration/,
    ],
    [["--principal", "bob", "--roles", "user", "--tpm=lots"], /--tpm: "lots" is not a whole number/],
  ];
  for (const [flags, expected] of refusals)
    it(`refuses ${flags.join(" ")} with exit 2, saying why, and prints no key`, () => {
      const run = chorus("keys", "create", ...flags);
      assert.equal(run.code, 2);
      assert.match(run.stderr, expected);
      assert.equal(run.stdout, "");
    });
});
