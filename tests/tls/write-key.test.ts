import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CERT_FILE_MODE, checkOutputPath, writeFileAtomic, writeKeyFile } from "../../src/tls/write-key.ts";
import { tempDir } from "../helpers/keystores.ts";
import { configErrorOf } from "../helpers/config-error.ts";

const { dir, cleanup } = tempDir("novnc-write-key-");
afterAll(cleanup);

const modeOf = (f: string) => statSync(f).mode & 0o777;

describe("writeKeyFile", () => {
  test("creates the key with mode 0600 and leaves no temp file behind", () => {
    const sub = join(dir, "fresh");
    mkdirSync(sub);
    writeKeyFile(join(sub, "k.pem"), "KEY\n", false);
    expect(readFileSync(join(sub, "k.pem"), "utf8")).toBe("KEY\n");
    expect(modeOf(join(sub, "k.pem"))).toBe(0o600);
    expect(readdirSync(sub)).toEqual(["k.pem"]);
  });

  test("refuses to overwrite an existing file without force and leaves it untouched", () => {
    const f = join(dir, "existing.key");
    writeFileSync(f, "OLD");
    expect(configErrorOf(() => writeKeyFile(f, "NEW", false))).toContain("file exists (use --force to overwrite)");
    expect(readFileSync(f, "utf8")).toBe("OLD");
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  test("with force replaces a world-readable file by a 0600 one", () => {
    const f = join(dir, "loose.key");
    writeFileSync(f, "OLD");
    chmodSync(f, 0o644);
    writeKeyFile(f, "NEW", true);
    expect(readFileSync(f, "utf8")).toBe("NEW");
    expect(modeOf(f)).toBe(0o600);
  });

  test("names the missing output folder", () => {
    expect(configErrorOf(() => writeKeyFile(join(dir, "no-such-dir", "k.pem"), "K", false))).toContain("cannot create a file in");
  });
});

describe("writeFileAtomic", () => {
  test("creates a certificate with the requested mode", () => {
    const f = join(dir, "c.pem");
    writeFileAtomic(f, "CERT", { mode: CERT_FILE_MODE, force: false, flag: "--cert-out" });
    expect(modeOf(f)).toBe(0o644 & ~process.umask());
  });
});

describe("checkOutputPath", () => {
  test("accepts a new file in an existing folder", () => {
    expect(() => checkOutputPath(join(dir, "new.pem"), "--cert-out", false)).not.toThrow();
  });

  test.each([
    ["a missing folder", () => join(dir, "nope", "x.pem"), false, "output folder"],
    ["an existing file without force", () => join(dir, "existing.key"), false, "file exists"],
    ["a folder as output", () => dir, true, "is a folder"],
    ["a file as parent folder", () => join(dir, "existing.key", "x.pem"), false, "is not a folder"],
  ] as [string, () => string, boolean, string][])("refuses %s, naming the flag", (_n, file, force, problem) => {
    const msg = configErrorOf(() => checkOutputPath(file(), "--key-out", force));
    expect(msg).toStartWith("--key-out ");
    expect(msg).toContain(problem);
  });

  test("accepts an existing file with force", () => {
    expect(() => checkOutputPath(join(dir, "existing.key"), "--key-out", true)).not.toThrow();
  });

  test.skipIf(process.getuid?.() === 0)("refuses a folder that is not writable", () => {
    const ro = join(dir, "ro");
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    expect(configErrorOf(() => checkOutputPath(join(ro, "k.pem"), "--key-out", false))).toContain("not writable");
  });
});
