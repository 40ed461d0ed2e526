import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgv } from "../../src/config/argv.ts";
import { compileSettings } from "../../src/config/compile.ts";
import { mergeSettings } from "../../src/config/merge.ts";
import { SETTINGS } from "../../src/config/schema.ts";

const compileArgs = (rawArgs: string[]) =>
  compileSettings(mergeSettings({ table: SETTINGS, flags: parseArgv(SETTINGS, ["--self-signed", "--allow-unsigned", ...rawArgs]), env: {} }), {}).server;

describe("the server gets the client checks compiled", () => {
  test("--trusted-proxy and --metrics-allow arrive as matchers", () => {
    const { client } = compileArgs(["--trusted-proxy", "10.0.0.0/8", "--metrics-allow", "127.0.0.1"]);
    expect(client.isTrustedProxy("10.1.2.3")).toBe(true);
    expect(client.isTrustedProxy("11.0.0.1")).toBe(false);
    expect(client.mayReadMetrics("127.0.0.1")).toBe(true);
    expect(client.mayReadMetrics("127.0.0.2")).toBe(false);
  });

  test("without them nobody's X-Forwarded-For is believed and everyone may read metrics", () => {
    const { client } = compileArgs([]);
    expect(client.isTrustedProxy("127.0.0.1")).toBe(false);
    expect(client.mayReadMetrics("192.0.2.1")).toBe(true);
  });

  test("--origin, --engine-origin and --require-origin arrive as one origin check", () => {
    const { client } = compileArgs(["--origin", "https://a.example", "--engine-origin", "https://engine.example", "--require-origin"]);
    expect(client.checkOrigin("https://a.example", "proxy.example:6100")).toBeNull();
    expect(client.checkOrigin("https://engine.example", "proxy.example:6100")).toBeNull();
    expect(client.checkOrigin("https://proxy.example:6100", "proxy.example:6100")).toBeNull();
    expect(client.checkOrigin("https://evil.example", "proxy.example:6100")).toContain("not allowed");
    expect(client.checkOrigin(null, "proxy.example:6100")).toBe("missing Origin header");
  });
});

describe("architecture", () => {
  const dir = join(import.meta.dir, "../../src/server");
  test.each(readdirSync(dir).filter((f) => f.endsWith(".ts")))("src/server/%s compiles no setting from strings", (file) => {
    const text = readFileSync(join(dir, file), "utf8");
    expect(text).not.toMatch(/import [^;]*\b(compileOriginCheck|compileCidrList|compileAllowlist|compileSettings|compileClientPolicy)\b/);
  });

  test("src/server/limits.ts holds no second copy of the defaults", () => {
    expect(readFileSync(join(dir, "limits.ts"), "utf8")).not.toMatch(/DEFAULT_LIMITS|maxSessions: \d/);
  });
});
