import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ConfigError } from "../../src/errors.ts";
import { resolveKeystorePassword } from "../../src/tls/password.ts";
import { tempDir, writeText } from "../helpers/keystores.ts";

const { dir, cleanup } = tempDir("novnc-password-");
afterAll(cleanup);

describe("resolveKeystorePassword", () => {
  test("defaults to oVirt's mypass", () => {
    expect(resolveKeystorePassword({}, {})).toBe("mypass");
  });

  test("prefers --password, then --password-file, then the environment", () => {
    const file = writeText(dir, "pw", "fromfile\n");
    const env = { NOVNC_KEYSTORE_PASSWORD: "fromenv" };
    expect(resolveKeystorePassword({ password: "flag" }, env)).toBe("flag");
    expect(resolveKeystorePassword({ passwordFile: file }, env)).toBe("fromfile");
    expect(resolveKeystorePassword({}, env)).toBe("fromenv");
  });

  test("keeps an explicitly empty password", () => {
    expect(resolveKeystorePassword({ password: "" }, {})).toBe("");
    expect(resolveKeystorePassword({ passwordFile: writeText(dir, "empty", "") }, {})).toBe("");
    expect(resolveKeystorePassword({}, { NOVNC_KEYSTORE_PASSWORD: "" })).toBe("");
  });

  test("drops only one trailing newline of a password file", () => {
    expect(resolveKeystorePassword({ passwordFile: writeText(dir, "crlf", "a b\r\n") }, {})).toBe("a b");
    expect(resolveKeystorePassword({ passwordFile: writeText(dir, "two", "x\n\n") }, {})).toBe("x\n");
  });

  test("refuses both --password and --password-file", () => {
    expect(() => resolveKeystorePassword({ password: "a", passwordFile: "b" }, {})).toThrow(ConfigError);
  });

  test("names a missing password file without printing any password", () => {
    const missing = join(dir, "missing");
    expect(() => resolveKeystorePassword({ passwordFile: missing }, {})).toThrow(`password file ${missing}: no such file`);
  });
});
