import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Health, HealthCheckResponse_ServingStatus } from "@chorus/proto";
import { createClient } from "@chorus/shared";
import { Client, credentials, Metadata, status } from "@grpc/grpc-js";
import {
  type AuthRig,
  authSettings,
  bearer,
  KeysFileOnDisk,
  makeKey,
  outcome,
  startAuthRig,
} from "../../testing/auth-rig.js";

/** Calls `path` with raw bytes and `metadata` on a fresh grpc-js client: unary, or a bidi stream until its first reply. */
function rawCall(
  address: string,
  path: string,
  metadata: Metadata,
  bidi = false,
): Promise<{ code: status; details: string }> {
  const client = new Client(address, credentials.createInsecure());
  const deadline = new Date(Date.now() + 5000);
  const same = (bytes: Buffer) => bytes;
  return new Promise<{ code: status; details: string }>((resolve) => {
    const done = (err: { code: status; details: string } | null) => {
      resolve(err ? { code: err.code, details: err.details } : { code: status.OK, details: "" });
    };
    if (!bidi) {
      client.makeUnaryRequest(path, same, same, Buffer.alloc(0), metadata, { deadline }, done);
      return;
    }
    const call = client.makeBidiStreamRequest(path, same, same, metadata, { deadline });
    call.on("data", () => {
      done(null);
      call.cancel();
    });
    call.on("error", done);
    // ServerReflectionRequest { list_services: "" }: field 7, length 0.
    call.write(Buffer.from([0x3a, 0x00]));
    call.end();
  }).finally(() => client.close());
}

const REFLECTION = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
const CHAT = "/chorus.v1.ChatService/Chat";
const message = { message: "hello" };

describe("the public port with API keys", () => {
  const file = new KeysFileOnDisk();
  const alice = makeKey("alice", ["user"]);
  const olga = makeKey("olga", ["operator"]);
  const root = makeKey("root", ["admin"]);
  const old = makeKey("old", ["user"], { expiresMs: Date.now() - 60_000 });
  const stranger = makeKey("stranger", ["admin"]);
  let rig: AuthRig;
  before(async () => {
    file.write([alice.entry, olga.entry, root.entry, old.entry]);
    rig = await startAuthRig(authSettings({ keys_file: file.path, failed_per_minute: 1000 }));
  });
  after(async () => {
    await rig.close();
    file.remove();
  });

  it("lets a valid key in, and the handler sees its principal", async () => {
    assert.deepEqual(await outcome(rig.chat.chat(message, bearer(alice.key))), {
      code: status.OK,
      details: "",
    });
    const seen = rig.seen.at(-1);
    assert.equal(seen?.id, "alice");
    assert.equal(seen?.via, "key");
    assert.equal(seen?.credentialId, alice.entry.id);
    assert.deepEqual([...(seen?.roles ?? [])], ["user"]);
  });

  const wrongSecret = `chorus_${alice.entry.id}_${stranger.secret}`;
  const refusals: [string, Record<string, string>, RegExp, string][] = [
    ["no credentials", {}, /^missing credentials: send `authorization: Bearer/, ""],
    [
      "another scheme",
      { authorization: "Basic YWxpY2U6cGFzcw==" },
      /^malformed authorization: expected the Bearer scheme, got "Basic"/,
      "YWxpY2U6cGFzcw==",
    ],
    [
      "a key without the Bearer scheme",
      { authorization: alice.key },
      /^malformed authorization: expected the Bearer scheme;/,
      alice.secret,
    ],
    [
      "Bearer without a credential",
      { authorization: "Bearer" },
      /^malformed authorization: expected one credential after Bearer/,
      "",
    ],
    [
      "a malformed key",
      { authorization: `Bearer chorus_${alice.entry.id}_short` },
      /^malformed API key: expected chorus_<id>_<secret>/,
      "short",
    ],
    [
      "an unknown key",
      bearer(stranger.key).metadata,
      new RegExp(`^unknown API key ${stranger.entry.id}:`),
      stranger.secret,
    ],
    [
      "a known id with the wrong secret",
      bearer(wrongSecret).metadata,
      new RegExp(`^unknown API key ${alice.entry.id}:`),
      stranger.secret,
    ],
    [
      "an expired key",
      bearer(old.key).metadata,
      new RegExp(`^API key ${old.entry.id} expired at 20`),
      old.secret,
    ],
    [
      "a token when no issuer is configured",
      bearer("eyJhbGciOiJSUzI1NiJ9.e30.c2ln").metadata,
      /^the bearer credential is not an API key .* accepts no tokens/,
      "eyJ",
    ],
  ];
  for (const [what, metadata, expected, secret] of refusals)
    it(`refuses ${what} with UNAUTHENTICATED saying so, without echoing the credential`, async () => {
      const result = await outcome(
        rig.chat.chat(message, { metadata, deadline: new Date(Date.now() + 5000) }),
      );
      assert.equal(result.code, status.UNAUTHENTICATED, result.details);
      assert.match(result.details, expected);
      if (secret) assert.ok(!result.details.includes(secret), `"${result.details}" echoes the credential`);
    });

  it("refuses a principal without the method's role with PERMISSION_DENIED naming the role", async () => {
    const stats = await outcome(rig.chat.getStats({}, bearer(alice.key)));
    assert.equal(stats.code, status.PERMISSION_DENIED);
    assert.match(stats.details, /GetStats needs the operator role; alice has user/);
    const chat = await outcome(rig.chat.chat(message, bearer(olga.key)));
    assert.equal(chat.code, status.PERMISSION_DENIED);
    assert.match(chat.details, /Chat needs the user role; olga has operator/);
    assert.equal((await outcome(rig.chat.getStats({}, bearer(olga.key)))).code, status.OK);
  });

  it("lets admin call everything, including a method missing from the policy, which no one else may call", async () => {
    assert.equal((await outcome(rig.chat.chat(message, bearer(root.key)))).code, status.OK);
    assert.equal((await outcome(rig.chat.getStats({}, bearer(root.key)))).code, status.OK);
    assert.equal((await outcome(rig.agent.describe({}, bearer(root.key)))).code, status.OK);
    for (const key of [alice.key, olga.key]) {
      const describe = await outcome(rig.agent.describe({}, bearer(key)));
      assert.equal(describe.code, status.PERMISSION_DENIED);
      assert.match(describe.details, /AgentService\/Describe needs the admin role/);
    }
  });

  it("serves reflection to any authenticated principal and to no one else; health stays open", async () => {
    const asUser = new Metadata();
    asUser.set("authorization", `Bearer ${alice.key}`);
    assert.deepEqual(await rawCall(rig.server.address, REFLECTION, asUser, true), {
      code: status.OK,
      details: "",
    });
    const anonymous = await rawCall(rig.server.address, REFLECTION, new Metadata(), true);
    assert.equal(anonymous.code, status.UNAUTHENTICATED);
    const health = createClient(Health, rig.server.address);
    const reply = await health.check({ service: "" }, { deadline: new Date(Date.now() + 5000) });
    health.close();
    assert.equal(reply.status, HealthCheckResponse_ServingStatus.SERVING);
  });

  it("refuses an oversized or binary authorization header clearly, and stays up for the next caller", async () => {
    const large = await outcome(rig.chat.chat(message, bearer(`chorus_${"a".repeat(9000)}`)));
    assert.equal(large.code, status.UNAUTHENTICATED);
    assert.match(large.details, /^authorization header too large: 9\d{3} bytes \(at most 8192\)/);
    const binary = new Metadata();
    binary.set("authorization-bin", Buffer.from(`Bearer ${alice.key}`));
    const bin = await rawCall(rig.server.address, CHAT, binary);
    assert.equal(bin.code, status.UNAUTHENTICATED);
    assert.match(bin.details, /^binary authorization-bin metadata is not accepted/);
    assert.equal((await outcome(rig.chat.chat(message, bearer(alice.key)))).code, status.OK);
  });

  it("answers a 100 KB authorization header with an error, not silence, and serves the next call", async () => {
    // Node's HTTP/2 layer resets a stream whose headers pass its 64 KB header-list limit before grpc-js
    // (which has no setting for it) sees the call: the client gets INTERNAL "Received RST_STREAM".
    const huge = await outcome(rig.chat.chat(message, bearer("x".repeat(100_000))));
    assert.notEqual(huge.code, status.OK);
    assert.notEqual(huge.code, status.DEADLINE_EXCEEDED, "the call must fail at once, not hang");
    assert.match(huge.details, /RST_STREAM/);
    assert.equal((await outcome(rig.chat.chat(message, bearer(alice.key)))).code, status.OK);
  });

  it("audits refusals with method, peer, reason and credential id, and logs no secret or hash", () => {
    const audit = rig.logLines
      .filter((line) => line.includes('"audit":true'))
      .map((line) => JSON.parse(line));
    const unknown = audit.find((line) => line.credential_id === stranger.entry.id);
    assert.ok(unknown, "the unknown key's refusal is audited with its id");
    assert.equal(unknown.method, CHAT);
    assert.match(unknown.peer, /^127\.0\.0\.1:\d+$/);
    assert.match(unknown.reason, /^unknown API key/);
    assert.equal(unknown.code, "UNAUTHENTICATED");
    const expired = audit.find((line) => line.credential_id === old.entry.id);
    assert.equal(expired?.principal, "old", "an expired key's principal is known once its secret matched");
    const denied = audit.find((line) => line.code === "PERMISSION_DENIED" && line.principal === "alice");
    assert.match(denied?.reason ?? "", /needs the operator role/);
    const everything = rig.logLines.join("\n");
    for (const key of [alice, olga, root, old, stranger])
      assert.ok(!everything.includes(key.secret), `the log holds ${key.entry.principal}'s secret`);
    assert.ok(!everything.includes("sha256:"), "the log holds a key hash");
  });
});

describe("failed authentications per peer", () => {
  const file = new KeysFileOnDisk();
  const alice = makeKey("alice", ["user"]);
  let now = Date.now();
  let rig: AuthRig;
  before(async () => {
    file.write([alice.entry]);
    rig = await startAuthRig(authSettings({ keys_file: file.path, failed_per_minute: 3 }), () => now);
  });
  after(async () => {
    await rig.close();
    file.remove();
  });

  it("does not count a refused role as a failed authentication", async () => {
    for (let i = 0; i < 5; i++)
      assert.equal((await outcome(rig.chat.getStats({}, bearer(alice.key)))).code, status.PERMISSION_DENIED);
    assert.equal((await outcome(rig.chat.chat(message, bearer(alice.key)))).code, status.OK);
  });

  it("refuses an IP that used up its failures with RESOURCE_EXHAUSTED and a retry-after hint, from any port, until the minute is over", async () => {
    for (let i = 0; i < 3; i++)
      assert.equal(
        (await outcome(rig.chat.chat(message, bearer(makeKey("x", ["user"]).key)))).code,
        status.UNAUTHENTICATED,
      );
    // A new client is a new connection from another port of the same IP.
    const { ChatService } = await import("@chorus/proto");
    const other = createClient(ChatService, rig.server.address);
    try {
      const blocked = await outcome(other.chat(message, bearer(alice.key)));
      assert.equal(blocked.code, status.RESOURCE_EXHAUSTED);
      assert.match(
        blocked.details,
        /too many failed authentications from 127\.0\.0\.1 \(3 a minute\); retry after 60 s/,
      );
      now += 45_000;
      assert.match((await outcome(other.chat(message, bearer(alice.key)))).details, /retry after 15 s/);
      now += 15_000;
      assert.equal((await outcome(other.chat(message, bearer(alice.key)))).code, status.OK);
    } finally {
      other.close();
    }
  });

  it("audits the failures, marks the one that blocked the peer, and does not log the refused attempts after it", () => {
    const audit = rig.logLines
      .filter((line) => line.includes('"audit":true'))
      .map((line) => JSON.parse(line));
    const failures = audit.filter((line) => line.code === "UNAUTHENTICATED");
    assert.equal(failures.length, 3);
    assert.deepEqual(
      failures.map((line) => line.peer_blocked === true),
      [false, false, true],
    );
    assert.equal(audit.filter((line) => line.code === "RESOURCE_EXHAUSTED").length, 0);
  });
});

describe("the public port with neither a keys file nor an issuer", () => {
  it("says it does not authenticate, and lets every caller in as the local admin", async () => {
    const rig = await startAuthRig(authSettings({}));
    try {
      assert.equal(rig.gatekeeper.authenticates, false);
      const call = rig.agent.describe({}, { deadline: new Date(Date.now() + 5000) });
      assert.deepEqual(await outcome(call), { code: status.OK, details: "" });
      assert.equal(rig.seen.at(-1)?.id, "local");
      assert.equal(rig.seen.at(-1)?.via, "local");
    } finally {
      await rig.close();
    }
  });
});
