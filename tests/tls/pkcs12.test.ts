import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createPrivateKey, randomBytes, X509Certificate } from "node:crypto";
import { loadKeystoreEntry, loadKeystoreIdentity, readKeystore } from "../../src/tls/pkcs12.ts";
import {
  haveKeytool,
  keytoolGenKeyPair,
  makeCaSignedPair,
  makePemPair,
  opensslFingerprint,
  opensslP12,
  run,
  tempDir,
  writeText,
  type PemPair,
} from "../helpers/keystores.ts";
import { configErrorOf } from "../helpers/config-error.ts";

// Keystores come from openssl and a JVM (keytool): slow on a loaded machine, never hanging.
setDefaultTimeout(60_000);

const { dir, cleanup } = tempDir("novnc-pkcs12-");
const keytool = haveKeytool();
let rsa: PemPair;
let chained: PemPair & { caCert: string };
const ks: Record<string, string> = {};

beforeAll(() => {
  rsa = makePemPair(dir, "rsa");
  chained = makeCaSignedPair(dir, "leaf");
  ks.unnamed = opensslP12(join(dir, "unnamed.p12"), rsa, { password: "mypass" });
  ks.named = opensslP12(join(dir, "named.p12"), rsa, { password: "mypass", name: "websocket-proxy" });
  ks.chain = opensslP12(join(dir, "chain.p12"), chained, { password: "mypass", chain: chained.caCert });
  ks.certOnly = join(dir, "cert-only.p12");
  run(["openssl", "pkcs12", "-export", "-nokeys", "-in", rsa.cert, "-name", "ca", "-out", ks.certOnly, "-passout", "pass:mypass"]);
  ks.text = writeText(dir, "text.p12", "this is not a keystore\n");
  ks.empty = writeText(dir, "empty.p12", "");
  ks.pem = writeText(dir, "pem.p12", readFileSync(rsa.cert));
  ks.random = writeText(dir, "random.p12", Buffer.concat([Buffer.from([0x30, 0x82]), randomBytes(600)]));
  ks.truncated = writeText(dir, "truncated.p12", readFileSync(ks.unnamed).subarray(0, 300));
  if (keytool) {
    ks.two = keytoolGenKeyPair(join(dir, "two.p12"), { alias: "first", password: "changeit" });
    keytoolGenKeyPair(ks.two, { alias: "second", password: "changeit", ec: true });
    ks.trust = join(dir, "trust.p12");
    run(["keytool", "-importcert", "-noprompt", "-storetype", "PKCS12", "-keystore", ks.trust, "-storepass", "changeit", "-alias", "ca", "-file", rsa.cert]);
    ks.jks = keytoolGenKeyPair(join(dir, "store.jks"), { alias: "old", password: "changeit", storeType: "JKS" });
  }
}, 60_000);

afterAll(cleanup);

describe("readKeystore", () => {
  test("names an entry without friendlyName the way Java does: \"1\"", () => {
    const { entries } = readKeystore(ks.unnamed!, "mypass");
    expect(entries.map((e) => e.alias)).toEqual(["1"]);
    expect(entries[0]!.leaf.fingerprint256).toBe(opensslFingerprint(rsa.cert));
    expect(entries[0]!.leaf.checkPrivateKey(entries[0]!.key)).toBe(true);
  });

  test.each([false, true])("opens a keystore with a non-ASCII password (legacy: %p)", (legacy) => {
    const store = opensslP12(join(dir, `utf8-${legacy}.p12`), rsa, { password: "pässwörd", legacy });
    expect(readKeystore(store, "pässwörd").entries[0]!.leaf.fingerprint256).toBe(opensslFingerprint(rsa.cert));
    expect(() => readKeystore(store, "passwort")).toThrow("wrong password");
  });

  test("uses the friendlyName as alias when there is one", () => {
    expect(readKeystore(ks.named!, "mypass").entries.map((e) => e.alias)).toEqual(["websocket-proxy"]);
  });

  test("builds the CA chain of the leaf from the other certificates", () => {
    const [entry] = readKeystore(ks.chain!, "mypass").entries;
    expect(entry!.leaf.fingerprint256).toBe(opensslFingerprint(chained.cert));
    expect(entry!.chain.map((c) => c.fingerprint256)).toEqual([opensslFingerprint(chained.caCert)]);
  });

  test.skipIf(!keytool)("lists every key entry of a keytool store with two entries", () => {
    const { entries } = readKeystore(ks.two!, "changeit");
    expect(entries.map((e) => e.alias).sort()).toEqual(["first", "second"]);
    expect(entries.map((e) => e.key.asymmetricKeyType).sort()).toEqual(["ec", "rsa"]);
  });

  test.each([
    ["wrong password", () => ks.unnamed!, "bad", "wrong password"],
    ["empty file", () => ks.empty!, "mypass", "empty file, not a keystore"],
    ["text file", () => ks.text!, "mypass", "not a PKCS#12 keystore"],
    ["PEM file", () => ks.pem!, "mypass", "PEM file, not a PKCS#12 keystore"],
    ["random DER-looking bytes", () => ks.random!, "mypass", "not a PKCS#12 keystore"],
    ["truncated keystore", () => ks.truncated!, "mypass", "not a PKCS#12 keystore"],
    ["missing file", () => join(dir, "nope.p12"), "mypass", "no such file"],
  ] as [string, () => string, string, string][])("refuses a %s with one line naming the file", (_n, file, pass, problem) => {
    const msg = configErrorOf(() => readKeystore(file(), pass));
    expect(msg).toContain(`keystore ${file()}`);
    expect(msg).toContain(problem);
    expect(msg).not.toContain("\n");
    expect(msg).not.toContain(pass === "bad" ? "bad" : "mypass");
  });

  test.skipIf(!keytool)("says how to convert a JKS keystore with keytool", () => {
    const msg = configErrorOf(() => readKeystore(ks.jks!, "changeit"));
    expect(msg).toContain("JKS");
    expect(msg).toContain("keytool -importkeystore");
    expect(msg).toContain("-deststoretype PKCS12");
  });
});

describe("loadKeystoreEntry", () => {
  test("picks the only key entry when no alias is given, and finds it by \"1\"", () => {
    expect(loadKeystoreEntry(ks.unnamed!, "mypass").alias).toBe("1");
    expect(loadKeystoreEntry(ks.unnamed!, "mypass", "1").alias).toBe("1");
  });

  test.skipIf(!keytool)("matches aliases case-insensitively, as Java keystores do", () => {
    expect(loadKeystoreEntry(ks.two!, "changeit", "SECOND").alias).toBe("second");
  });

  test.skipIf(!keytool)("asks for --alias, listing them, when there are several entries", () => {
    const msg = configErrorOf(() => loadKeystoreEntry(ks.two!, "changeit"));
    expect(msg).toContain("--alias");
    expect(msg).toContain('"first"');
    expect(msg).toContain('"second"');
  });

  test("lists the aliases when the alias is not found", () => {
    const msg = configErrorOf(() => loadKeystoreEntry(ks.named!, "mypass", "engine"));
    expect(msg).toContain('alias "engine" not found');
    expect(msg).toContain('"websocket-proxy"');
  });

  test("says there is no private key in a certificate-only keystore", () => {
    expect(configErrorOf(() => loadKeystoreEntry(ks.certOnly!, "mypass"))).toContain("no private key in the keystore");
  });

  test.skipIf(!keytool)("says the entry has no private key when the alias names a trusted certificate", () => {
    expect(configErrorOf(() => loadKeystoreEntry(ks.trust!, "changeit", "ca"))).toContain('entry "ca" has no private key');
  });
});

describe("loadKeystoreIdentity", () => {
  test("gives serve the leaf first, then the chain, and the matching key", () => {
    const id = loadKeystoreIdentity(ks.chain!, "mypass");
    expect(id.fingerprint256).toBe(opensslFingerprint(chained.cert));
    expect(id.certPem.match(/BEGIN CERTIFICATE/g)?.length).toBe(2);
    expect(new X509Certificate(id.certPem).checkPrivateKey(createPrivateKey(id.keyPem))).toBe(true);
    expect(id.source).toBe(ks.chain!);
    expect(id.subject).toContain("CN=leaf");
  });
});
