import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkExposure, isLoopback } from "./exposure.js";

const port = { service: "history", port: 50052 };

describe("checkExposure", () => {
  it("lets anything listen on loopback", () => {
    for (const host of ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost"]) {
      assert.equal(isLoopback(host), true, host);
      checkExposure({ ...port, host, tls: false, authenticated: false, insecure: false });
    }
  });

  it("refuses a port beyond loopback without TLS or authentication, naming what is missing and the way out", () => {
    for (const host of ["0.0.0.0", "::", "10.0.0.7", "chorus.example"]) {
      assert.equal(isLoopback(host), false, host);
      assert.throws(
        () => checkExposure({ ...port, host, tls: false, authenticated: false, insecure: false }),
        new RegExp(
          `history: refusing to listen on ${host.replace(/\./g, "\\.")}:50052 without TLS and authentication; .*--insecure`,
        ),
      );
    }
    assert.throws(
      () => checkExposure({ ...port, host: "0.0.0.0", tls: true, authenticated: false, insecure: false }),
      /without authentication;/,
    );
    assert.throws(
      () => checkExposure({ ...port, host: "0.0.0.0", tls: false, authenticated: true, insecure: false }),
      /without TLS;/,
    );
  });

  it("lets a secured port, or an operator's explicit insecure, listen anywhere", () => {
    checkExposure({ ...port, host: "0.0.0.0", tls: true, authenticated: true, insecure: false });
    checkExposure({ ...port, host: "0.0.0.0", tls: false, authenticated: false, insecure: true });
  });
});
