import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createPrivateKey, sign, verify, X509Certificate } from "node:crypto";
import {
  keyFileModeWarning,
  loadPemIdentity,
  makeSelfSigned,
} from "../../src/tls/identity.ts";
import {
  makeCaSignedPair,
  makePemPair,
  opensslFingerprint,
  run,
  tempDir,
  writeText,
  type PemPair,
} from "../helpers/keystores.ts";
import { configErrorOf } from "../helpers/config-error.ts";

// Keystores come from openssl and a JVM (keytool): slow on a loaded machine, never hanging.
setDefaultTimeout(60_000);

const { dir, cleanup } = tempDir("novnc-identity-");
let rsa: PemPair;
let other: PemPair;
let ec: PemPair;
let chained: PemPair & { caCert: string };
const f: Record<string, string> = {};

beforeAll(() => {
  rsa = makePemPair(dir, "rsa", { cn: "proxy.test" });
  other = makePemPair(dir, "other");
  ec = makePemPair(dir, "ec", { ec: true });
  chained = makeCaSignedPair(dir, "leaf");
  const rsaKey = readFileSync(rsa.key, "utf8");
  const rsaCert = readFileSync(rsa.cert, "utf8");
  f.combined = writeText(dir, "combined.pem", rsaCert + rsaKey);
  f.combinedKeyFirst = writeText(dir, "combined-key-first.pem", rsaKey + rsaCert);
  f.caFirst = writeText(dir, "ca-first.pem", readFileSync(chained.caCert, "utf8") + readFileSync(chained.cert, "utf8"));
  f.encPkcs8 = join(dir, "enc-pkcs8.key");
  run(["openssl", "pkey", "-in", rsa.key, "-aes256", "-passout", "pass:secret", "-out", f.encPkcs8]);
  f.encLegacy = join(dir, "enc-legacy.key");
  run(["openssl", "rsa", "-in", rsa.key, "-aes256", "-traditional", "-passout", "pass:secret", "-out", f.encLegacy]);
  f.ecParamsKey = join(dir, "ec-params.key");
  run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-out", f.ecParamsKey]);
  f.ecParamsCert = join(dir, "ec-params.cer");
  run(["openssl", "req", "-x509", "-key", f.ecParamsKey, "-out", f.ecParamsCert, "-days", "3", "-subj", "/CN=ecparams"]);
  f.text = writeText(dir, "text.txt", "not a certificate\n");
  f.empty = writeText(dir, "empty.pem", "");
  f.badCert = writeText(dir, "bad.cer", "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n");
  f.badKey = writeText(dir, "bad.key", "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n");
  f.folder = join(dir, "a-folder");
  mkdirSync(f.folder);
}, 60_000);

afterAll(cleanup);

describe("loadPemIdentity", () => {
  test("loads a cert and key pair and reports subject, expiry and the SHA-256 fingerprint", () => {
    const id = loadPemIdentity(rsa.cert, rsa.key);
    expect(id.subject).toBe("CN=proxy.test, O=novnc-proxy tests");
    expect(id.fingerprint256).toBe(opensslFingerprint(rsa.cert));
    expect(id.notAfter.getTime()).toBeGreaterThan(Date.now());
    expect(id.source).toBe(rsa.cert);
    expect(id.keyPem).toStartWith("-----BEGIN PRIVATE KEY-----");
    expect(new X509Certificate(id.certPem).checkPrivateKey(createPrivateKey(id.keyPem))).toBe(true);
  });

  test("reads the key from the certificate file when no key file is given", () => {
    expect(loadPemIdentity(f.combined!).fingerprint256).toBe(opensslFingerprint(rsa.cert));
    expect(loadPemIdentity(f.combinedKeyFirst!).fingerprint256).toBe(opensslFingerprint(rsa.cert));
  });

  test("loads an EC key, also when the file starts with EC PARAMETERS", () => {
    expect(loadPemIdentity(ec.cert, ec.key).subject).toContain("CN=ec");
    expect(loadPemIdentity(f.ecParamsCert!, f.ecParamsKey!).subject).toBe("CN=ecparams");
  });

  test("puts the leaf matching the key first, then the chain, whatever the file order", () => {
    const id = loadPemIdentity(f.caFirst!, chained.key);
    const blocks = id.certPem.match(/-----BEGIN CERTIFICATE-----/g) ?? [];
    expect(blocks.length).toBe(2);
    expect(new X509Certificate(id.certPem).fingerprint256).toBe(opensslFingerprint(chained.cert));
    expect(id.subject).toContain("CN=leaf");
  });

  test.each([
    ["a missing certificate file", () => loadPemIdentity(join(dir, "nope.cer"), rsa.key), ["nope.cer", "no such file"]],
    ["a missing key file", () => loadPemIdentity(rsa.cert, join(dir, "nope.key")), ["nope.key", "no such file"]],
    ["a folder as certificate", () => loadPemIdentity(f.folder!, rsa.key), ["a-folder", "directory"]],
    ["a text file as certificate", () => loadPemIdentity(f.text!, rsa.key), ["text.txt", "no certificate in file"]],
    ["an empty certificate file", () => loadPemIdentity(f.empty!, rsa.key), ["empty.pem", "no certificate in file"]],
    ["a key file given as certificate", () => loadPemIdentity(rsa.key, rsa.key), ["rsa.key", "no certificate in file"]],
    ["a broken certificate block", () => loadPemIdentity(f.badCert!, rsa.key), ["bad.cer", "cannot be parsed"]],
    ["a certificate given as key", () => loadPemIdentity(rsa.cert, rsa.cert), ["rsa.cer", "no private key in file"]],
    ["a broken key block", () => loadPemIdentity(rsa.cert, f.badKey!), ["bad.key", "cannot be parsed"]],
    ["a cert file without key and no key file", () => loadPemIdentity(rsa.cert), ["rsa.cer", "no private key in file"]],
    ["an encrypted PKCS#8 key", () => loadPemIdentity(rsa.cert, f.encPkcs8!), ["enc-pkcs8.key", "password-protected"]],
    ["an encrypted legacy key", () => loadPemIdentity(rsa.cert, f.encLegacy!), ["enc-legacy.key", "password-protected"]],
    ["a key of another certificate", () => loadPemIdentity(rsa.cert, other.key), ["other.key", "does not match"]],
  ] as [string, () => unknown, string[]][])("refuses %s with one line naming the file", (_name, fn, parts) => {
    const msg = configErrorOf(fn);
    for (const part of parts) expect(msg).toContain(part);
    expect(msg).not.toContain("\n");
    expect(msg).not.toContain("-----BEGIN");
    expect(msg).not.toContain("secret");
  });

  test.skipIf(process.getuid?.() === 0)("refuses an unreadable key file", () => {
    const key = writeText(dir, "unreadable.key", readFileSync(rsa.key));
    chmodSync(key, 0o000);
    expect(configErrorOf(() => loadPemIdentity(rsa.cert, key))).toContain("permission denied");
  });
});

describe("makeSelfSigned", () => {
  test("makes a certificate for every DNS name and IP literal, matching its key", () => {
    const id = makeSelfSigned(["proxy.example", "127.0.0.1", "[::1]"]);
    const cert = new X509Certificate(id.certPem);
    expect(cert.subjectAltName).toBe("DNS:proxy.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    expect(cert.checkPrivateKey(createPrivateKey(id.keyPem))).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(id.subject).toContain("CN=proxy.example");
    expect(id.fingerprint256).toBe(cert.fingerprint256);
    expect(id.source).toBe("self-signed");
    expect(id.notAfter.getTime()).toBeGreaterThan(Date.now());
    expect(cert.validFromDate.getTime()).toBeLessThanOrEqual(Date.now());
  });

  test("falls back to localhost when given no names", () => {
    expect(new X509Certificate(makeSelfSigned([]).certPem).subjectAltName).toBe("DNS:localhost");
  });

  test("gives a new key and serial each time", () => {
    const a = makeSelfSigned(["x"]);
    const b = makeSelfSigned(["x"]);
    expect(a.fingerprint256).not.toBe(b.fingerprint256);
    expect(a.keyPem).not.toBe(b.keyPem);
  });
});

describe("keyFileModeWarning", () => {
  test("warns about a group or world readable key and says how to fix it", () => {
    const key = writeText(dir, "loose.key", "x");
    chmodSync(key, 0o644);
    const msg = keyFileModeWarning(key);
    expect(msg).toContain("loose.key");
    expect(msg).toContain("0644");
    expect(msg).toContain("chmod 600");
    chmodSync(key, 0o640);
    expect(keyFileModeWarning(key)).toContain("0640");
  });

  test("is silent for mode 0600 and 0400, and for a missing file", () => {
    const key = writeText(dir, "tight.key", "x");
    chmodSync(key, 0o600);
    expect(keyFileModeWarning(key)).toBeNull();
    chmodSync(key, 0o400);
    expect(keyFileModeWarning(key)).toBeNull();
    expect(keyFileModeWarning(join(dir, "missing.key"))).toBeNull();
  });
});
