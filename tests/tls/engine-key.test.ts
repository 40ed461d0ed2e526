import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createPrivateKey, sign, verify } from "node:crypto";
import { loadEngineCert, loadEngineSigningKey } from "../../src/tls/engine-key.ts";
import { makeEngineKeys, removeEngineKeys, writeEngineKeyFiles, type EngineKeyFiles, type EngineKeys } from "../helpers/engine-keys.ts";
import { configErrorOf } from "../helpers/config-error.ts";

// openssl on a loaded machine: slow, never hanging.
setDefaultTimeout(60_000);

let keys: EngineKeys;
let other: EngineKeys;
let files: EngineKeyFiles;

beforeAll(() => {
  keys = makeEngineKeys("engine.test");
  other = makeEngineKeys("other.test");
  files = writeEngineKeyFiles(keys);
}, 60_000);

afterAll(() => {
  removeEngineKeys(keys);
  removeEngineKeys(other);
});

const DATA = Buffer.from("salt,data,validFrom,validTo");

describe("loadEngineCert reads every shape of the engine certificate", () => {
  test.each([
    ["plain PEM", (f: EngineKeyFiles, k: EngineKeys) => k.certFile, "CN=engine.test"],
    ["PEM after openssl's text dump", (f: EngineKeyFiles) => f.certWithText, "CN=engine.test"],
    ["PEM after Bag Attributes lines", (f: EngineKeyFiles) => f.certWithBagAttributes, "CN=engine.test"],
    ["DER", (f: EngineKeyFiles) => f.certDer, "CN=engine.test"],
    ["a bare PEM public key", (f: EngineKeyFiles) => f.publicKey, "public key"],
  ])("%s", (_name, pick, subject) => {
    const engine = loadEngineCert(pick(files, keys));
    const sig = sign("sha256", DATA, createPrivateKey(keys.keyPem));
    expect(verify("sha256", DATA, engine.key, sig)).toBe(true);
    expect(engine.subject).toBe(subject);
    if (subject === "public key") expect(engine.cert).toBeUndefined();
    else expect(engine.notAfter!.getTime()).toBeGreaterThan(Date.now());
  });

  test("another engine's certificate does not verify this engine's signature", () => {
    const sig = sign("sha256", DATA, createPrivateKey(keys.keyPem));
    expect(verify("sha256", DATA, loadEngineCert(other.certFile).key, sig)).toBe(false);
  });

  test.each([
    ["missing", (d: string) => join(d, "nope.cer"), "no such file"],
    ["a folder", (d: string) => (mkdirSync(join(d, "folder"), { recursive: true }), join(d, "folder")), "is a directory"],
    ["a text file", (d: string) => (writeFileSync(join(d, "t.txt"), "not a certificate\n"), join(d, "t.txt")), "no certificate in file"],
    ["empty", (d: string) => (writeFileSync(join(d, "e.pem"), ""), join(d, "e.pem")), "no certificate in file"],
    [
      "a broken PEM certificate",
      (d: string) => (writeFileSync(join(d, "b.cer"), "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n"), join(d, "b.cer")),
      "the certificate cannot be parsed",
    ],
  ])("refuses a file that is %s, in one line naming it", (_name, make, problem) => {
    const file = make(keys.dir);
    const msg = configErrorOf(() => loadEngineCert(file));
    expect(msg).toStartWith(`engine certificate ${file}: `);
    expect(msg).toContain(problem);
    expect(msg).not.toContain("\n");
  });
});

describe("loadEngineSigningKey reads every unencrypted shape of the engine key", () => {
  test.each([
    ["PKCS#8", (f: EngineKeyFiles) => f.keyPkcs8],
    ["PKCS#1", (f: EngineKeyFiles) => f.keyPkcs1],
    ["PKCS#8 after Bag Attributes lines (engine.key.nopass)", (f: EngineKeyFiles) => f.keyWithBagAttributes],
  ])("%s", (_name, pick) => {
    const key = loadEngineSigningKey(pick(files));
    expect(loadEngineCert(keys.certFile).cert!.checkPrivateKey(key)).toBe(true);
  });

  test("a password-protected key is refused with the way out", () => {
    const msg = configErrorOf(() => loadEngineSigningKey(files.keyEncrypted));
    expect(msg).toStartWith(`engine key ${files.keyEncrypted}: the key is password-protected`);
    expect(msg).toContain("openssl pkey");
  });

  test("a certificate is not a key", () => {
    expect(configErrorOf(() => loadEngineSigningKey(keys.certFile))).toBe(`engine key ${keys.certFile}: no private key in file`);
  });

  test("an EC key is refused: the engine signs with RSA", () => {
    const ec = join(keys.dir, "ec.key");
    execFileSync("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", ec], { timeout: 30_000 });
    expect(configErrorOf(() => loadEngineSigningKey(ec))).toBe(`engine key ${ec}: not an RSA key (the engine signs with RSA)`);
  });

  test("a missing key file is one line naming it", () => {
    const missing = join(keys.dir, "absent.key");
    expect(configErrorOf(() => loadEngineSigningKey(missing))).toBe(`engine key ${missing}: no such file`);
  });

  test("the bag-attributes file really carries the lines engine-setup leaves", () => {
    expect(readFileSync(files.keyWithBagAttributes, "utf8")).toStartWith("Bag Attributes");
    expect(readFileSync(files.certWithText, "utf8")).toStartWith("Certificate:");
  });
});
