import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Metadata, status } from "@grpc/grpc-js";
import {
  ACTING_FOR_ADMIN_KEY,
  ACTING_FOR_PRINCIPAL_KEY,
  actingFor,
  actingForMetadata,
  UNTAGGED_CALL,
} from "./acting-for.js";
import { LOCAL_PRINCIPAL, type Principal } from "./principal.js";

const user: Principal = { id: "auth0|alice@example.com", roles: new Set(["user"]), via: "token" };
const operator: Principal = { id: "ops", roles: new Set(["operator"]), via: "key" };
const admin: Principal = { id: "root", roles: new Set(["admin"]), via: "key" };

/** Metadata as a server receives it, from `[key, value]` pairs (a key may repeat). */
function received(...pairs: Array<[string, string]>): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of pairs) metadata.add(key, value);
  return metadata;
}

/** What the orchestrator's RpcOptions.metadata becomes on the wire. */
function sent(record: Record<string, string>): Metadata {
  return received(...Object.entries(record));
}

describe("acting-for metadata", () => {
  it("carries a user's id and no admin flag, and reads back as that non-admin principal", () => {
    const record = actingForMetadata(user);
    assert.deepEqual(record, { [ACTING_FOR_PRINCIPAL_KEY]: "auth0|alice@example.com" });
    assert.deepEqual(actingFor(sent(record)), { id: "auth0|alice@example.com", admin: false });
    assert.deepEqual(actingFor(sent(actingForMetadata(operator))), { id: "ops", admin: false });
  });

  it("marks an admin with the admin flag, and reads back as an admin", () => {
    const record = actingForMetadata(admin);
    assert.deepEqual(record, { [ACTING_FOR_PRINCIPAL_KEY]: "root", [ACTING_FOR_ADMIN_KEY]: "1" });
    assert.deepEqual(actingFor(sent(record)), { id: "root", admin: true });
    assert.deepEqual(actingFor(sent(actingForMetadata(LOCAL_PRINCIPAL))), { id: "local", admin: true });
  });

  it("reads a call without the metadata as local without admin rights", () => {
    assert.deepEqual(actingFor(received()), { id: "local", admin: false });
    assert.equal(actingFor(received(["x-request-id", "r1"])), UNTAGGED_CALL);
  });

  it("accepts a principal id of exactly 255 visible ASCII characters", () => {
    const id = `${"!~".repeat(127)}z`;
    assert.equal(id.length, 255);
    assert.equal(actingFor(received([ACTING_FOR_PRINCIPAL_KEY, id])).id, id);
  });

  const malformed: Array<[string, string, Metadata]> = [
    ["an empty principal id", ACTING_FOR_PRINCIPAL_KEY, received([ACTING_FOR_PRINCIPAL_KEY, ""])],
    ["a principal id with a space", ACTING_FOR_PRINCIPAL_KEY, received([ACTING_FOR_PRINCIPAL_KEY, "a b"])],
    [
      "a 256-character principal id",
      ACTING_FOR_PRINCIPAL_KEY,
      received([ACTING_FOR_PRINCIPAL_KEY, "x".repeat(256)]),
    ],
    [
      "two principal ids",
      ACTING_FOR_PRINCIPAL_KEY,
      received([ACTING_FOR_PRINCIPAL_KEY, "alice"], [ACTING_FOR_PRINCIPAL_KEY, "bob"]),
    ],
    [
      'an admin flag other than "1"',
      ACTING_FOR_ADMIN_KEY,
      received([ACTING_FOR_PRINCIPAL_KEY, "alice"], [ACTING_FOR_ADMIN_KEY, "true"]),
    ],
    ["an admin flag without a principal", ACTING_FOR_ADMIN_KEY, received([ACTING_FOR_ADMIN_KEY, "1"])],
    [
      "two admin flags",
      ACTING_FOR_ADMIN_KEY,
      received([ACTING_FOR_PRINCIPAL_KEY, "alice"], [ACTING_FOR_ADMIN_KEY, "1"], [ACTING_FOR_ADMIN_KEY, "1"]),
    ],
  ];
  for (const [name, key, metadata] of malformed) {
    it(`refuses ${name} with INVALID_ARGUMENT naming ${key}`, () => {
      assert.throws(
        () => actingFor(metadata),
        (err: { code: number; message: string }) => {
          assert.equal(err.code, status.INVALID_ARGUMENT);
          assert.ok(err.message.startsWith(`${key}: `), err.message);
          return true;
        },
      );
    });
  }

  it("refuses to carry a principal id that history would reject", () => {
    for (const id of ["", "has space", "ünïcode", "x".repeat(256)]) {
      assert.throws(
        () => actingForMetadata({ id, roles: new Set(["user"]), via: "token" }),
        (err: { code: number }) => err.code === status.UNAUTHENTICATED,
        JSON.stringify(id),
      );
    }
  });
});
