/**
 * `novnc-proxy export-cert` run as a real process against keystores made at test time by
 * openssl and keytool; the result is checked with openssl, never with our own code.
 * NOVNC_PROXY_BIN=dist/novnc-proxy runs the compiled binary instead of src/cli.ts.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  haveKeytool,
  keytoolGenKeyPair,
  makeCaSignedPair,
  makePemPair,
  normaliseKey,
  opensslExtractKey,
  opensslFingerprint,
  opensslP12,
  publicKeyDigest,
  tempDir,
  writeText,
} from "../helpers/keystores.ts";

// Keystores come from openssl and a JVM (keytool): slow on a loaded machine, never hanging.
setDefaultTimeout(60_000);

const ROOT = resolve(import.meta.dir, "../..");
const BIN = process.env.NOVNC_PROXY_BIN ? [resolve(ROOT, process.env.NOVNC_PROXY_BIN)] : [process.execPath, join(ROOT, "src/cli.ts")];
const keytool = haveKeytool();
const { dir, cleanup } = tempDir("novnc-export-cert-");
afterAll(cleanup);

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `export-cert` with a clean environment (no inherited keystore password), bounded in time. */
function exportCert(args: string[], env: Record<string, string> = {}): Result {
  const p = Bun.spawnSync([...BIN, "export-cert", ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, NOVNC_PROXY_LOG_LEVEL: "info", ...env },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 30_000,
  });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

let n = 0;
/** Fresh output paths for one export. */
function outs(): { cert: string; key: string; chain: string } {
  n++;
  return { cert: join(dir, `out${n}.cer`), key: join(dir, `out${n}.key`), chain: join(dir, `out${n}-chain.pem`) };
}

interface Case {
  name: string;
  make: () => string;
  password: string;
  alias?: string;
  legacy?: boolean;
  keyType: string;
  chain?: () => string;
  needsKeytool?: boolean;
}

let chainCa = "";
const cases: Case[] = [
  {
    name: "keytool PKCS12 store, entry chosen by alias",
    make: () => keytoolGenKeyPair(join(dir, "keytool.p12"), { alias: "websocket-proxy", password: "changeit" }),
    password: "changeit",
    alias: "websocket-proxy",
    keyType: "RSA 2048",
    needsKeytool: true,
  },
  {
    name: "keytool PKCS12 store with an EC key",
    make: () => keytoolGenKeyPair(join(dir, "keytool-ec.p12"), { alias: "ec", password: "changeit", ec: true }),
    password: "changeit",
    keyType: "EC P-256",
    needsKeytool: true,
  },
  {
    name: "OpenSSL 3 default (AES-256, PBKDF2, HMAC-SHA256) without -name, as alias 1",
    make: () => opensslP12(join(dir, "ovirt.p12"), makePemPair(dir, "ovirt"), { password: "mypass" }),
    password: "mypass",
    alias: "1",
    keyType: "RSA 2048",
  },
  {
    name: "OpenSSL -legacy (3DES/RC2, SHA-1 MAC)",
    make: () => opensslP12(join(dir, "legacy.p12"), makePemPair(dir, "legacy"), { password: "mypass", legacy: true }),
    password: "mypass",
    legacy: true,
    keyType: "RSA 2048",
  },
  {
    name: "OpenSSL with an EC key",
    make: () => opensslP12(join(dir, "ec.p12"), makePemPair(dir, "ec", { ec: true }), { password: "mypass", name: "ec" }),
    password: "mypass",
    keyType: "EC P-256",
  },
  {
    name: "OpenSSL with a CA chain",
    make: () => {
      const pair = makeCaSignedPair(dir, "chained");
      chainCa = pair.caCert;
      return opensslP12(join(dir, "chain.p12"), pair, { password: "mypass", chain: pair.caCert });
    },
    password: "mypass",
    keyType: "RSA 2048",
    chain: () => chainCa,
  },
  {
    name: "OpenSSL with an empty password",
    make: () => opensslP12(join(dir, "nopass.p12"), makePemPair(dir, "nopass"), { password: "" }),
    password: "",
    keyType: "RSA 2048",
  },
];

describe("export-cert writes the PEM pair openssl would extract", () => {
  for (const c of cases) {
    test.skipIf(c.needsKeytool === true && !keytool)(c.name, () => {
      const store = c.make();
      const o = outs();
      const args = ["--keystore", store, "--password", c.password, "--cert-out", o.cert, "--key-out", o.key];
      if (c.alias) args.push("--alias", c.alias);
      if (c.chain) args.push("--chain-out", o.chain);
      const r = exportCert(args);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);

      // The key matches the certificate and is exactly what `openssl pkcs12 -nodes -nocerts` gives.
      expect(publicKeyDigest(o.key, "key")).toBe(publicKeyDigest(o.cert, "cert"));
      expect(normaliseKey(readFileSync(o.key, "utf8"))).toBe(opensslExtractKey(store, c.password, c.legacy));
      expect(readFileSync(o.key, "utf8")).toStartWith("-----BEGIN PRIVATE KEY-----\n");
      expect(statSync(o.key).mode & 0o777).toBe(0o600);
      // The certificate file holds the leaf only.
      expect(readFileSync(o.cert, "utf8").match(/BEGIN CERTIFICATE/g)?.length).toBe(1);

      // The summary: public facts only.
      const fp = opensslFingerprint(o.cert);
      expect(r.stdout).toContain(`SHA-256      ${fp}`);
      expect(r.stdout).toContain(`key type     ${c.keyType}`);
      expect(r.stdout).toMatch(/subject      .*CN=/);
      expect(r.stdout).toMatch(/issuer       .*CN=/);
      expect(r.stdout).toMatch(/valid        \d{4}-\d\d-\d\dT.* to \d{4}-/);
      expect(r.stdout).not.toContain("PRIVATE KEY");
      if (c.password !== "") expect(r.stdout).not.toContain(c.password);

      if (c.chain) {
        expect(opensslFingerprint(o.chain)).toBe(opensslFingerprint(c.chain()));
        expect(r.stdout).toContain("CA chain");
      } else {
        expect(existsSync(o.chain)).toBe(false);
      }
    });
  }
});

describe("export-cert password sources", () => {
  let store = "";
  beforeAll(() => {
    store = opensslP12(join(dir, "pwsrc.p12"), makePemPair(dir, "pwsrc"), { password: "s3cret-pw" });
  }, 60_000);

  test("reads the password from --password-file", () => {
    const o = outs();
    const pw = writeText(dir, "pw.txt", "s3cret-pw\n");
    const r = exportCert(["--keystore", store, "--password-file", pw, "--cert-out", o.cert, "--key-out", o.key]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("s3cret-pw");
  });

  test("reads the password from NOVNC_KEYSTORE_PASSWORD", () => {
    const o = outs();
    const r = exportCert(["--keystore", store, "--cert-out", o.cert, "--key-out", o.key], { NOVNC_KEYSTORE_PASSWORD: "s3cret-pw" });
    expect(r.code).toBe(0);
  });

  test("defaults to mypass, so a wrong default is reported as a wrong password", () => {
    const o = outs();
    const r = exportCert(["--keystore", store, "--cert-out", o.cert, "--key-out", o.key]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("wrong password");
  });
});

describe("export-cert refuses with one line and exit 2", () => {
  let store = "";
  beforeAll(() => {
    store = opensslP12(join(dir, "errors.p12"), makePemPair(dir, "errors"), { password: "mypass", name: "proxy" });
  }, 60_000);

  /** The single stderr line of a failed run. */
  function fails(args: string[]): string {
    const r = exportCert(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines.length).toBe(1);
    return lines[0]!;
  }

  test("a wrong password, without printing it", () => {
    const o = outs();
    const line = fails(["--keystore", store, "--password", "Wr0ngPass", "--cert-out", o.cert, "--key-out", o.key]);
    expect(line).toContain("wrong password");
    expect(line).toContain(store);
    expect(line).not.toContain("Wr0ngPass");
    expect(existsSync(o.key)).toBe(false);
  });

  test("a wrong alias, listing the aliases", () => {
    const o = outs();
    const line = fails(["--keystore", store, "--alias", "engine", "--cert-out", o.cert, "--key-out", o.key]);
    expect(line).toContain('alias "engine" not found');
    expect(line).toContain('"proxy"');
  });

  test.each([
    ["a text file", "text.p12", "certificate and key, in a text file\n", "not a PKCS#12 keystore"],
    ["an empty file", "empty.p12", "", "empty file"],
  ])("%s as keystore", (_n, name, content, problem) => {
    const file = writeText(dir, name, content);
    const o = outs();
    const line = fails(["--keystore", file, "--cert-out", o.cert, "--key-out", o.key]);
    expect(line).toContain(`keystore ${file}`);
    expect(line).toContain(problem);
  });

  test("a missing keystore", () => {
    const o = outs();
    expect(fails(["--keystore", join(dir, "nope.p12"), "--cert-out", o.cert, "--key-out", o.key])).toContain("no such file");
  });

  test("an existing output without --force, leaving every file as it was; --force then overwrites", () => {
    const o = outs();
    writeFileSync(o.key, "OLD KEY");
    const line = fails(["--keystore", store, "--cert-out", o.cert, "--key-out", o.key]);
    expect(line).toContain(`--key-out ${o.key}: file exists (use --force to overwrite)`);
    expect(readFileSync(o.key, "utf8")).toBe("OLD KEY");
    expect(existsSync(o.cert)).toBe(false);

    const r = exportCert(["--keystore", store, "--cert-out", o.cert, "--key-out", o.key, "--force"]);
    expect(r.code).toBe(0);
    expect(readFileSync(o.key, "utf8")).toStartWith("-----BEGIN PRIVATE KEY-----");
    expect(statSync(o.key).mode & 0o777).toBe(0o600);
  });

  test("an output folder that does not exist", () => {
    const o = outs();
    const line = fails(["--keystore", store, "--cert-out", o.cert, "--key-out", join(dir, "missing-dir", "k.pem")]);
    expect(line).toContain("output folder");
    expect(line).toContain("does not exist");
  });

  test.skipIf(!keytool)("a Java JKS keystore, saying how to convert it", () => {
    const jks = keytoolGenKeyPair(join(dir, "old.jks"), { alias: "old", password: "changeit", storeType: "JKS" });
    const o = outs();
    const line = fails(["--keystore", jks, "--password", "changeit", "--cert-out", o.cert, "--key-out", o.key]);
    expect(line).toContain("keytool -importkeystore");
    expect(line).toContain("-srcstoretype JKS");
    expect(line).toContain("-deststoretype PKCS12");
  });
});
