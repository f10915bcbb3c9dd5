import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { pino } from "pino";
import { KeysFileOnDisk, makeKey } from "../../testing/auth-rig.js";
import { hashSecret, newApiKey, parseApiKey, secretMatches } from "./api-key.js";
import { AuthFailure } from "./auth-failure.js";
import { KeyStore } from "./key-store.js";
import { KeysFileError, keyEntryYaml, parseKeysFile } from "./keys-file.js";

const GOOD_HASH = hashSecret("x");

describe("API keys", () => {
  it("a new key parses back to its id and secret, and only its own secret matches its hash", () => {
    const made = newApiKey();
    assert.match(made.key, /^chorus_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(parseApiKey(made.key), { id: made.id, secret: made.secret });
    assert.equal(secretMatches(made.secret, hashSecret(made.secret)), true);
    assert.equal(secretMatches(newApiKey().secret, hashSecret(made.secret)), false);
    assert.equal(parseApiKey(`${made.key}x`), undefined);
    assert.equal(parseApiKey(made.key.replace("chorus_", "chorus-")), undefined);
  });

  it("an entry printed by keyEntryYaml under keys: parses back to the same entry", () => {
    const { entry } = makeKey("alice@example.com", ["user", "operator"], {
      expiresMs: Date.parse("2031-02-03T04:05:06.000Z"),
      limits: { requests_per_minute: 60, concurrent_turns: 2 },
    });
    const parsed = parseKeysFile(`keys:\n${keyEntryYaml(entry)}\n`, "k.yaml");
    assert.deepEqual(parsed.get(entry.id), entry);
  });
});

describe("keys file checks", () => {
  const cases: [string, string, string][] = [
    ["an empty file", "", "k.yaml: keys: missing"],
    ["a top-level typo", "keys: []\nkey: []\n", "k.yaml: key: unknown key"],
    [
      "a role that does not exist",
      `keys:\n- {id: abcd, hash: "${GOOD_HASH}", principal: a, roles: [root]}`,
      "k.yaml: keys[0].roles[0]: must be one of user, operator, admin",
    ],
    [
      "no roles",
      `keys:\n- {id: abcd, hash: "${GOOD_HASH}", principal: a, roles: []}`,
      "k.yaml: keys[0].roles: must list at least one role",
    ],
    [
      "a misspelt expires",
      `keys:\n- {id: abcd, hash: "${GOOD_HASH}", principal: a, roles: [user], expire: 2030-01-01}`,
      "k.yaml: keys[0].expire: unknown key",
    ],
    [
      "an unreadable time",
      `keys:\n- {id: abcd, hash: "${GOOD_HASH}", principal: a, roles: [user], expires: soon}`,
      "k.yaml: keys[0].expires: must be an ISO time",
    ],
    [
      "a hash that is not sha256",
      `keys:\n- {id: abcd, hash: "md5:00", principal: a, roles: [user]}`,
      "k.yaml: keys[0].hash: must be sha256:",
    ],
    [
      "an id with an underscore",
      `keys:\n- {id: ab_cd, hash: "${GOOD_HASH}", principal: a, roles: [user]}`,
      "k.yaml: keys[0].id: must be 4 to 32",
    ],
    [
      "a negative limit",
      `keys:\n- {id: abcd, hash: "${GOOD_HASH}", principal: a, roles: [user], limits: {tokens_per_minute: -1}}`,
      "k.yaml: keys[0].limits.tokens_per_minute: must be a whole number",
    ],
    [
      "a duplicate id",
      `keys:\n- {id: abcd, hash: "${GOOD_HASH}", principal: a, roles: [user]}\n- {id: abcd, hash: "${GOOD_HASH}", principal: b, roles: [user]}`,
      "k.yaml: keys[1].id: duplicate id abcd",
    ],
    ["broken YAML", "keys: [\n", "k.yaml: invalid YAML"],
  ];
  for (const [what, text, message] of cases)
    it(`rejects ${what}, naming the file and the key`, () => {
      assert.throws(
        () => parseKeysFile(text, "k.yaml"),
        (err: Error) => {
          assert.ok(err instanceof KeysFileError);
          assert.ok(err.message.startsWith(message), err.message);
          assert.ok(!err.message.includes(GOOD_HASH), "the hash is never quoted");
          return true;
        },
      );
    });

  it("accepts keys: [] as a file without keys", () => {
    assert.equal(parseKeysFile("keys: []\n", "k.yaml").size, 0);
  });
});

describe("KeyStore on a real file", () => {
  const file = new KeysFileOnDisk();
  const lines: string[] = [];
  const log = pino({ level: "debug" }, { write: (line: string) => lines.push(line) });
  const stores: KeyStore[] = [];
  after(() => {
    for (const store of stores) store.close();
    file.remove();
  });
  // One store at a time watches the file, so each test sees only its own store's log lines.
  const open = () => {
    for (const store of stores.splice(0)) store.close();
    const store = new KeyStore(file.path, 50, log);
    stores.push(store);
    return store;
  };
  const accepts = (store: KeyStore, key: string) => {
    try {
      store.verify(parseApiKey(key) ?? { id: "none", secret: "" });
      return true;
    } catch (err) {
      assert.ok(err instanceof AuthFailure);
      return false;
    }
  };
  async function until(what: string, condition: () => boolean): Promise<void> {
    for (let i = 0; i < 100 && !condition(); i++) await delay(20);
    assert.ok(condition(), `timed out waiting until ${what}`);
  }

  it("refuses to start on a missing or invalid file, naming it", () => {
    assert.throws(
      () => new KeyStore(`${file.path}.missing`, 50, log),
      /keys\.yaml\.missing: cannot read the API keys file: ENOENT/,
    );
    file.writeText("keys:\n- {id: abcd}\n");
    assert.throws(() => new KeyStore(file.path, 50, log), /keys\.yaml: keys\[0\]\.hash: must be sha256/);
  });

  it("picks up a new key and drops a removed one when the file changes", async () => {
    const alice = makeKey("alice", ["user"]);
    const bob = makeKey("bob", ["operator"]);
    file.write([alice.entry]);
    const store = open();
    assert.equal(accepts(store, alice.key), true);
    assert.equal(accepts(store, bob.key), false);
    file.write([bob.entry]);
    await until("bob's key works", () => accepts(store, bob.key));
    assert.equal(accepts(store, alice.key), false, "alice's removed key stops working");
  });

  it("keeps the last good keys when the file is edited into an invalid one, and logs the file and the key", async () => {
    const carol = makeKey("carol", ["user"]);
    file.write([carol.entry]);
    const store = open();
    const before = lines.length;
    file.writeText(`keys:\n${keyEntryYaml(carol.entry)}\n    expire: tomorrow\n`);
    const rejected = () => lines.slice(before).find((line) => line.includes("API keys file rejected"));
    await until("the bad edit is logged", () => rejected() !== undefined);
    assert.match(rejected() ?? "", /keys\.yaml: keys\[0\]\.expire: unknown key/);
    assert.equal(accepts(store, carol.key), true, "carol's key still works");
    const dave = makeKey("dave", ["user"]);
    file.write([carol.entry, dave.entry]);
    await until("the fixed file is loaded", () => accepts(store, dave.key));
    const all = lines.join("\n");
    for (const secret of [carol.secret, dave.secret])
      assert.ok(!all.includes(secret), "no secret in the log");
    assert.ok(!all.includes("sha256:"), "no hash in the log");
  });

  it("keeps the last good keys while the file is missing, and logs it once", async () => {
    const erin = makeKey("erin", ["user"]);
    file.write([erin.entry]);
    const store = open();
    const before = lines.length;
    rmSync(file.path);
    const unreadable = () => lines.slice(before).filter((line) => line.includes("API keys file unreadable"));
    await until("the missing file is logged", () => unreadable().length > 0);
    await delay(200);
    assert.equal(unreadable().length, 1, "logged once, not on every poll");
    assert.match(unreadable()[0] ?? "", /ENOENT/);
    assert.equal(accepts(store, erin.key), true);
  });
});
