import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Admission, CircuitBreaker } from "./circuit-breaker.js";

/** A breaker opening after 3 failures with a 1000 ms cool-down, on a clock the test moves. */
function rig(failures = 3) {
  const clock = { now: 0 };
  const breaker = new CircuitBreaker({ failures, cooldownMs: 1000, clock: () => clock.now });
  const admitted = (admission: Admission) => {
    assert.equal(admission.admitted, true, "the call should go through");
    return admission.admitted && admission.probe;
  };
  const fail = (times: number) => {
    for (let i = 0; i < times; i += 1) breaker.settle(admitted(breaker.admit()), "failed");
  };
  return { clock, breaker, admitted, fail };
}

describe("CircuitBreaker", () => {
  it("stays closed below the threshold, and an answer starts the count over", () => {
    const { breaker, fail, admitted } = rig();
    fail(2);
    breaker.settle(admitted(breaker.admit()), "answered");
    fail(2);
    assert.equal(breaker.state, "closed");
    assert.equal(breaker.consecutiveFailures, 2);
    fail(1);
    assert.equal(breaker.state, "open");
  });

  it("neither neutral outcomes nor their absence break a run of failures", () => {
    const { breaker, fail, admitted } = rig();
    fail(2);
    breaker.settle(admitted(breaker.admit()), "neutral");
    fail(1);
    assert.equal(breaker.state, "open");
  });

  it("fails every call at once while open, saying how long until the probe", () => {
    const { breaker, clock, fail } = rig();
    fail(3);
    clock.now = 400;
    assert.deepEqual(breaker.admit(), { admitted: false, retryInMs: 600 });
    clock.now = 999;
    assert.deepEqual(breaker.admit(), { admitted: false, retryInMs: 1 });
    assert.equal(breaker.state, "open");
  });

  it("is half-open after the cool-down and admits exactly one probe at a time", () => {
    const { breaker, clock, fail } = rig();
    fail(3);
    clock.now = 1000;
    assert.equal(breaker.state, "half_open");
    assert.deepEqual(breaker.admit(), { admitted: true, probe: true });
    assert.deepEqual(
      breaker.admit(),
      { admitted: false, retryInMs: 1000 },
      "a second call waits for the probe",
    );
    clock.now = 5000;
    assert.equal(breaker.admit().admitted, false, "however long the probe takes");
  });

  it("closes when the probe gets an answer, and then admits every call", () => {
    const { breaker, clock, fail } = rig();
    fail(3);
    clock.now = 1000;
    breaker.settle(true, "answered");
    assert.equal(breaker.state, "closed");
    assert.equal(breaker.consecutiveFailures, 0);
    for (let i = 0; i < 5; i += 1) assert.deepEqual(breaker.admit(), { admitted: true, probe: false });
  });

  it("opens for another full cool-down when the probe fails", () => {
    const { breaker, clock, fail, admitted } = rig();
    fail(3);
    clock.now = 1500;
    breaker.settle(admitted(breaker.admit()), "failed");
    assert.equal(breaker.state, "open");
    clock.now = 2400;
    assert.deepEqual(breaker.admit(), { admitted: false, retryInMs: 100 });
    clock.now = 2500;
    assert.deepEqual(breaker.admit(), { admitted: true, probe: true });
  });

  it("lets the next call probe when a probe ended saying nothing (cancelled or timed out)", () => {
    const { breaker, clock, fail } = rig();
    fail(3);
    clock.now = 1000;
    assert.deepEqual(breaker.admit(), { admitted: true, probe: true });
    breaker.settle(true, "neutral");
    assert.equal(breaker.state, "half_open");
    assert.deepEqual(breaker.admit(), { admitted: true, probe: true });
  });

  it("does not restart the cool-down for failures of calls admitted before it opened", () => {
    const { breaker, clock, fail } = rig();
    const late = breaker.admit();
    fail(3);
    clock.now = 900;
    breaker.settle(late.admitted && late.probe, "failed");
    clock.now = 1000;
    assert.deepEqual(breaker.admit(), { admitted: true, probe: true });
  });

  it("closes when a call admitted before it opened gets an answer after all", () => {
    const { breaker, clock, fail } = rig();
    const slow = breaker.admit();
    fail(3);
    clock.now = 200;
    breaker.settle(slow.admitted && slow.probe, "answered");
    assert.equal(breaker.state, "closed");
  });

  it("never opens with failures 0", () => {
    const { breaker, fail } = rig(0);
    fail(50);
    assert.equal(breaker.state, "closed");
    assert.equal(breaker.consecutiveFailures, 50);
  });
});
