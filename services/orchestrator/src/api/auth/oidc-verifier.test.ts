import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type JWTPayload,
  SignJWT,
  UnsecuredJWT,
} from "jose";
import {
  type AuthRig,
  authSettings,
  bearer,
  makeKey,
  outcome,
  startAuthRig,
} from "../../testing/auth-rig.js";

type Key = Awaited<ReturnType<typeof generateKeyPair>>;

const AUDIENCE = "chorus-api";
const message = { message: "hello" };
const nowS = () => Math.floor(Date.now() / 1000);

describe("the public port with OIDC tokens", () => {
  let jwks: Server;
  let issuer: string;
  let rsa: Key;
  let ec: Key;
  let impostor: Key;
  let rig: AuthRig;
  let jwksRequests = 0;

  before(async () => {
    rsa = await generateKeyPair("RS256", { extractable: true });
    ec = await generateKeyPair("ES256", { extractable: true });
    impostor = await generateKeyPair("RS256");
    const keys = [
      // Published without "alg", as many issuers do: the key alone would verify PS256 as well.
      { ...(await exportJWK(rsa.publicKey)), kid: "rsa-1", use: "sig" },
      { ...(await exportJWK(ec.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" },
    ];
    jwks = createServer((request, response) => {
      jwksRequests += 1;
      if (request.url !== "/.well-known/jwks.json") return void response.writeHead(404).end();
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
    issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
    rig = await startAuthRig(authSettings({ oidc: { issuer, audience: AUDIENCE, clock_skew_seconds: 30 } }));
  });
  after(async () => {
    await rig.close();
    await new Promise((resolve) => jwks.close(resolve));
  });

  /** A token with sensible claims, `claims` on top, signed by `key` (RSA by default). */
  function token(
    claims: JWTPayload = {},
    key: Key = rsa,
    header: { alg: string; kid: string } = { alg: "RS256", kid: "rsa-1" },
  ) {
    return new SignJWT({ sub: "tina", jti: "token-1", roles: ["user"], ...claims })
      .setProtectedHeader(header)
      .setIssuer(typeof claims.iss === "string" ? claims.iss : issuer)
      .setAudience(claims.aud ?? AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(typeof claims.exp === "number" ? claims.exp : nowS() + 300)
      .sign(key.privateKey);
  }

  it("lets a valid token in; the handler sees its subject, jti and roles (unknown roles ignored)", async () => {
    const t = await token({ sub: "tina", roles: ["operator", "superuser"] });
    assert.equal((await outcome(rig.chat.getStats({}, bearer(t)))).code, status.OK);
    const seen = rig.seen.at(-1);
    assert.equal(seen?.id, "tina");
    assert.equal(seen?.via, "token");
    assert.equal(seen?.credentialId, "token-1");
    assert.deepEqual([...(seen?.roles ?? [])], ["operator"]);
    assert.equal((await outcome(rig.chat.chat(message, bearer(t)))).code, status.PERMISSION_DENIED);
    assert.ok(jwksRequests > 0, "the keys came from the JWKS server at <issuer>/.well-known/jwks.json");
  });

  it("accepts ES256, and roles as a space-separated string", async () => {
    const t = await token({ roles: "user operator" }, ec, { alg: "ES256", kid: "ec-1" });
    assert.equal((await outcome(rig.chat.chat(message, bearer(t)))).code, status.OK);
    assert.equal((await outcome(rig.chat.getStats({}, bearer(t)))).code, status.OK);
  });

  it("gives a token without a roles claim the default roles, and one with an empty list none", async () => {
    const plain = await token({ roles: undefined });
    assert.equal((await outcome(rig.chat.chat(message, bearer(plain)))).code, status.OK);
    assert.equal((await outcome(rig.chat.getStats({}, bearer(plain)))).code, status.PERMISSION_DENIED);
    const empty = await token({ roles: [] });
    const refused = await outcome(rig.chat.chat(message, bearer(empty)));
    assert.equal(refused.code, status.PERMISSION_DENIED);
    assert.match(refused.details, /needs the user role; tina has none/);
  });

  it("accepts a token that expired within the clock skew", async () => {
    const t = await token({ exp: nowS() - 10 });
    assert.equal((await outcome(rig.chat.chat(message, bearer(t)))).code, status.OK);
  });

  const refusals: [string, () => Promise<string>, RegExp][] = [
    ["a bad signature", () => token({}, impostor), /^token signature does not verify$/],
    [
      "a key the issuer does not publish",
      () => token({}, rsa, { alg: "RS256", kid: "rsa-2" }),
      /^token is not signed by any key the issuer publishes$/,
    ],
    [
      "alg none",
      async () =>
        new UnsecuredJWT({ sub: "tina", roles: ["admin"] })
          .setIssuer(issuer)
          .setAudience(AUDIENCE)
          .setExpirationTime("5m")
          .encode(),
      /^token algorithm none is not accepted \(accepted: RS256, ES256\)$/,
    ],
    [
      "PS256, which the issuer's RSA key could verify but the config does not accept",
      async () => {
        const ps = await importJWK(await exportJWK(rsa.privateKey), "PS256");
        return token({}, { ...rsa, privateKey: ps as Key["privateKey"] }, { alg: "PS256", kid: "rsa-1" });
      },
      /^token algorithm PS256 is not accepted \(accepted: RS256, ES256\)$/,
    ],
    [
      "HS256 signed with the issuer's public key as the HMAC secret",
      async () => {
        const secret = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
        return new SignJWT({ sub: "tina", roles: ["admin"] })
          .setProtectedHeader({ alg: "HS256", kid: "rsa-1" })
          .setIssuer(issuer)
          .setAudience(AUDIENCE)
          .setExpirationTime("5m")
          .sign(secret);
      },
      /^token algorithm HS256 is not accepted \(accepted: RS256, ES256\)$/,
    ],
    [
      "another issuer",
      () => token({ iss: "https://evil.example" }),
      /^token issuer is not http:\/\/127\.0\.0\.1:\d+$/,
    ],
    [
      "another audience",
      () => token({ aud: "someone-else" }),
      /^token audience does not include chorus-api$/,
    ],
    ["an expired token", () => token({ exp: nowS() - 120 }), /^token expired \(20/],
    ["a token not valid yet", () => token({ nbf: nowS() + 120 }), /^token is not valid yet \(20/],
    [
      "a token without exp",
      () =>
        new SignJWT({ sub: "tina" })
          .setProtectedHeader({ alg: "RS256", kid: "rsa-1" })
          .setIssuer(issuer)
          .setAudience(AUDIENCE)
          .sign(rsa.privateKey),
      /^token has no exp claim$/,
    ],
    [
      "a token without a subject",
      () => token({ sub: undefined }),
      /^token has no sub claim naming the principal$/,
    ],
    ["something that is not a JWT", async () => "not-a-jwt", /^malformed token: not a signed JWT/],
    [
      "an API key when only tokens are accepted",
      async () => makeKey("k", ["user"]).key,
      /^API keys are not accepted here/,
    ],
  ];
  for (const [what, make, expected] of refusals)
    it(`refuses ${what} with UNAUTHENTICATED saying which check failed`, async () => {
      const credential = await make();
      const result = await outcome(rig.chat.chat(message, bearer(credential)));
      assert.equal(result.code, status.UNAUTHENTICATED, result.details);
      assert.match(result.details, expected);
      assert.ok(!result.details.includes(credential.split(".")[2] || credential), "the credential is echoed");
    });

  it("audits an expired token with its principal and jti, and never the token", () => {
    const audit = rig.logLines
      .filter((line) => line.includes('"audit":true'))
      .map((line) => JSON.parse(line));
    const expired = audit.find((line) => /^token expired/.test(line.reason));
    assert.equal(expired?.principal, "tina");
    assert.equal(expired?.credential_id, "token-1");
    assert.ok(!rig.logLines.join("\n").includes("eyJ"), "a token reached the log");
  });
});

describe("an issuer whose keys cannot be fetched", () => {
  it("answers UNAVAILABLE, not UNAUTHENTICATED, and does not count it against the caller", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const issuer = `http://127.0.0.1:${port}`;
    const rig = await startAuthRig(
      authSettings({ oidc: { issuer, audience: AUDIENCE }, failed_per_minute: 1 }),
    );
    try {
      const { privateKey } = await generateKeyPair("RS256");
      const t = await new SignJWT({ sub: "tina" })
        .setProtectedHeader({ alg: "RS256", kid: "k" })
        .setIssuer(issuer)
        .setAudience(AUDIENCE)
        .setExpirationTime("5m")
        .sign(privateKey);
      for (let i = 0; i < 2; i++) {
        const result = await outcome(rig.chat.chat(message, bearer(t)));
        assert.equal(result.code, status.UNAVAILABLE, result.details);
        assert.match(result.details, /authentication is unavailable; try again/);
      }
    } finally {
      await rig.close();
    }
  });
});
