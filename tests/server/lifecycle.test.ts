import { describe, expect, test } from "bun:test";
import { startupLine, watchedFiles } from "../../src/server/lifecycle.ts";

describe("watchedFiles: what a change of reloads the server", () => {
  test.each([
    ["PEM certificate and key, engine certificate", { tls: { kind: "pem", certFile: "/c.pem", keyFile: "/k.pem" }, engineCertFile: "/engine.cer" }, ["/engine.cer", "/c.pem", "/k.pem"]],
    ["a PEM file holding both (no key file)", { tls: { kind: "pem", certFile: "/both.pem" } }, ["/both.pem"]],
    ["a keystore", { tls: { kind: "keystore", file: "/ks.p12", password: "secret" }, engineCertFile: "/engine.cer" }, ["/engine.cer", "/ks.p12"]],
    ["a self-signed certificate: only the engine certificate", { tls: { kind: "self-signed" }, engineCertFile: "/engine.cer" }, ["/engine.cer"]],
    ["nothing on disk", { tls: { kind: "self-signed" } }, []],
  ] as const)("%s", (_name, options, files) => {
    expect(watchedFiles(options)).toEqual([...files]);
  });
});

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

  test("names the URL, both certificates, the TLS floor and the allowlist", () => {
    expect(plain(startupLine(facts, 8443))).toBe(
      'listening on https://127.0.0.1:8443 cert="CN=proxy.example" expires=2027-06-30 engine-cert="CN=engine.example" tls>=1.2 allow=10.0.0.0/8:5900-6923',
    );
  });

  test("brackets an IPv6 listen address and says when no engine certificate is set", () => {
    const line = plain(startupLine({ ...facts, hostname: "::1", engineSubject: null }, 443));
    expect(line).toStartWith("listening on https://[::1]:443 ");
    expect(line).toContain(" engine-cert=none ");
  });
});
