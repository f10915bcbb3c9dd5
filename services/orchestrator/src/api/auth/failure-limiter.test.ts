import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RpcError } from "@chorus/shared";
import { status } from "@grpc/grpc-js";
import { FailureLimiter } from "./failure-limiter.js";
import { peerIp } from "./peer-ip.js";

const refused = (limiter: FailureLimiter, ip: string) => {
  try {
    limiter.check(ip);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof RpcError && err.code === status.RESOURCE_EXHAUSTED);
    return err.message;
  }
};

describe("failure limiter", () => {
  it("blocks one IP after its failures and leaves another alone", () => {
    const limiter = new FailureLimiter(2, () => 0);
    assert.equal(limiter.fail("10.0.0.1"), false);
    assert.equal(refused(limiter, "10.0.0.1"), undefined);
    assert.equal(limiter.fail("10.0.0.1"), true, "the second failure uses up the allowance");
    assert.match(refused(limiter, "10.0.0.1") ?? "", /from 10\.0\.0\.1 \(2 a minute\); retry after 60 s/);
    assert.equal(refused(limiter, "10.0.0.2"), undefined);
  });

  it("opens again when the minute since the first failure is over", () => {
    let now = 1_000_000;
    const limiter = new FailureLimiter(1, () => now);
    limiter.fail("10.0.0.1");
    now += 59_000;
    assert.match(refused(limiter, "10.0.0.1") ?? "", /retry after 1 s/);
    now += 1000;
    assert.equal(refused(limiter, "10.0.0.1"), undefined);
  });

  it("tracks at most maxPeers IPs, forgetting the oldest first", () => {
    const limiter = new FailureLimiter(1, () => 0, 3);
    for (const ip of ["a", "b", "c", "d"]) limiter.fail(ip);
    assert.equal(limiter.tracked, 3);
    assert.equal(refused(limiter, "a"), undefined, "the oldest was evicted");
    for (const ip of ["b", "c", "d"]) assert.notEqual(refused(limiter, ip), undefined);
    for (let i = 0; i < 10_000; i++) limiter.fail(`10.1.${i >> 8}.${i & 255}`);
    assert.equal(limiter.tracked, 3);
  });
});

describe("peer IP", () => {
  const cases: [string, string][] = [
    ["127.0.0.1:50123", "127.0.0.1"],
    ["10.1.2.3:1", "10.1.2.3"],
    ["::1:50123", "::1"],
    ["[::1]:50123", "::1"],
    ["2001:db8::7:443", "2001:db8::7"],
    ["::ffff:192.0.2.5:8080", "192.0.2.5"],
    ["/run/chorus.sock", "/run/chorus.sock"],
  ];
  for (const [address, ip] of cases) it(`of ${address} is ${ip}`, () => assert.equal(peerIp(address), ip));
});
