import { describe, expect, test } from "bun:test";
import { compileOriginCheck } from "../../src/policy/origin.ts";
import { ConfigError } from "../../src/errors.ts";

describe("the origin check", () => {
  const check = compileOriginCheck(["https://engine.example.com", "http://legacy.example.com:8080"]);
  const HOST = "proxy.example.com:6100";

  test.each([
    ["the proxy's own origin", "https://proxy.example.com:6100", HOST],
    ["the proxy's own origin in another case", "https://Proxy.EXAMPLE.com:6100", HOST],
    ["the proxy's own origin when Host is in upper case", "https://proxy.example.com:6100", "PROXY.example.com:6100"],
    ["own origin on the default port, Host without port", "https://proxy.example.com", "proxy.example.com"],
    ["own origin without port, Host with :443", "https://proxy.example.com", "proxy.example.com:443"],
    ["own origin with :443, Host without port", "https://proxy.example.com:443", "proxy.example.com"],
    ["own origin on an IPv6 literal", "https://[::1]:6100", "[::1]:6100"],
    ["own origin on an IPv4 literal", "https://127.0.0.1:6100", "127.0.0.1:6100"],
    ["a configured engine origin", "https://engine.example.com", HOST],
    ["a configured origin with its default port spelled out", "https://engine.example.com:443", HOST],
    ["a configured origin in another case", "HTTPS://ENGINE.example.com", HOST],
    ["a configured http origin with a port", "http://legacy.example.com:8080", HOST],
    ["a configured origin when there is no Host header", "https://engine.example.com", null],
  ])("allows %s", (_what, origin, host) => {
    expect(check(origin, host)).toBeNull();
  });

  test.each([
    ["a foreign origin", "https://evil.example.com", HOST, "Origin https://evil.example.com not allowed"],
    ["the own host over http", "http://proxy.example.com:6100", HOST, "Origin http://proxy.example.com:6100 not allowed"],
    ["the own host on another port", "https://proxy.example.com:6101", HOST, "Origin https://proxy.example.com:6101 not allowed"],
    ["the own host without the port Host names", "https://proxy.example.com", HOST, "Origin https://proxy.example.com not allowed"],
    ["a configured host on another port", "https://engine.example.com:8443", HOST, "Origin https://engine.example.com:8443 not allowed"],
    ["a configured host over http", "http://engine.example.com", HOST, "Origin http://engine.example.com not allowed"],
    ["a configured http origin on its default port", "http://legacy.example.com", HOST, "Origin http://legacy.example.com not allowed"],
    ["a subdomain of a configured origin", "https://a.engine.example.com", HOST, "Origin https://a.engine.example.com not allowed"],
    ["a look-alike suffix", "https://engine.example.com.evil.net", HOST, "Origin https://engine.example.com.evil.net not allowed"],
    ["the string null", "null", HOST, "Origin null not allowed"],
    ["an origin with a path", "https://engine.example.com/x", HOST, 'malformed Origin "https://engine.example.com/x"'],
    ["an origin with a trailing slash", "https://engine.example.com/", HOST, 'malformed Origin "https://engine.example.com/"'],
    ["an origin with credentials", "https://a@engine.example.com", HOST, 'malformed Origin "https://a@engine.example.com"'],
    ["a file origin", "file://", HOST, 'malformed Origin "file://"'],
    ["an empty origin", "", HOST, 'malformed Origin ""'],
    ["an origin with control characters", "https://x\r\n.com", HOST, 'malformed Origin "https://x??.com"'],
    ["any origin when the Host header is odd", "https://proxy.example.com", "proxy.example.com/evil", "Origin https://proxy.example.com not allowed"],
    ["any non-configured origin when there is no Host header", "https://proxy.example.com", null, "Origin https://proxy.example.com not allowed"],
  ])("refuses %s", (_what, origin, host, reason) => {
    expect(check(origin, host)).toBe(reason);
  });

  test("allows a request without Origin (non-browser client)", () => {
    expect(check(null, HOST)).toBeNull();
    expect(check(undefined as unknown as null, HOST)).toBeNull();
  });

  test("refuses a request without Origin when an Origin is required", () => {
    const strict = compileOriginCheck([], { requireOrigin: true });
    expect(strict(null, HOST)).toBe("missing Origin header");
    expect(strict("https://proxy.example.com:6100", HOST)).toBeNull();
  });

  test("shortens a long foreign origin in the reason", () => {
    const reason = check(`https://${"a".repeat(200)}.com`, HOST)!;
    expect(reason.length).toBeLessThan(120);
  });
});

describe("configured origins", () => {
  test.each([
    "https://engine.example.com/",
    "https://[fd00::1]:8443",
    "http://10.0.0.1",
  ])("accepts %p", (spec) => {
    expect(() => compileOriginCheck([spec])).not.toThrow();
  });

  test("a trailing slash is ignored", () => {
    expect(compileOriginCheck(["https://engine.example.com/"])("https://engine.example.com", null)).toBeNull();
  });

  test.each([
    "engine.example.com",
    "ftp://engine.example.com",
    "https://engine.example.com/ovirt-engine",
    "https://engine.example.com?x",
    "https://user@engine.example.com",
    "https://engine.example.com:99999",
    "https://",
    "",
    "null",
    "*",
    " https://engine.example.com",
  ])("refuses %p with a ConfigError", (spec) => {
    let thrown: unknown;
    try {
      compileOriginCheck(["https://ok.example.com", spec]);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toStartWith(`--origin "${spec}": `);
  });
});
