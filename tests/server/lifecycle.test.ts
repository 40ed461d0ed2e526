import { describe, expect, test } from "bun:test";
import { startupLine } from "../../src/server/lifecycle.ts";

describe("startupLine", () => {
  const facts = {
    hostname: "127.0.0.1",
    identity: { subject: "CN=proxy.example", notAfter: new Date(Date.UTC(2027, 5, 30, 12)) },
    engineSubject: "CN=engine.example",
    tlsMin: "1.2",
    allowlist: { describe: () => "10.0.0.0/8:5900-6923" },
  };
  // picocolors may bold the URL when the test runs in a terminal.
  const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

  const origins = [{ origin: "https://engine.example", source: "CN of engine.cer" }];

  test("names the URL, both certificates, the TLS floor, the allowlist and the engine origins", () => {
    expect(plain(startupLine(facts, 8443, origins))).toBe(
      'listening on https://127.0.0.1:8443 cert="CN=proxy.example" expires=2027-06-30 engine-cert="CN=engine.example" tls>=1.2 allow=10.0.0.0/8:5900-6923 engine-origins=https://engine.example (CN of engine.cer)',
    );
  });

  test("brackets an IPv6 listen address and says when no engine certificate is set", () => {
    const line = plain(startupLine({ ...facts, hostname: "::1", engineSubject: null }, 443, []));
    expect(line).toStartWith("listening on https://[::1]:443 ");
    expect(line).toContain(" engine-cert=none ");
    expect(line).toEndWith(" engine-origins=none");
  });
});
